/**
 * A TCP proxy that kills every connection after a random lifetime, as a load balancer with a
 * short idle timeout or a flaky network path does: the client sees real half-closed sockets
 * (FIN mid-response) and resets (RST), not the server's own cuts. It forwards bytes only, so it
 * works the same for HTTP and HTTPS.
 */
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';

/** Options of {@link startTcpProxy}. */
export interface TcpProxyOptions {
  /** Where connections go. */
  readonly targetHost: string;
  readonly targetPort: number;
  /** Mean connection lifetime, ms (exponentially distributed, so some die almost at once). */
  readonly meanLifeMs: number;
  /** Seeded source in [0, 1): lifetimes and the kind of each cut. */
  readonly random: () => number;
  /** Share of cuts that are resets rather than half-closes (default 0.5). */
  readonly resetShare?: number;
}

/** What the proxy did. */
export interface TcpProxyStats {
  connections: number;
  /** Cuts by half-close: FIN to both sides (`socket.end`), destroyed after a grace period. */
  halfCloses: number;
  /** Cuts by reset: RST to the client (`resetAndDestroy`), upstream destroyed. */
  resets: number;
  /** Connections that ended on their own before their cut was due. */
  closedByPeers: number;
}

/** A running proxy. */
export interface TcpProxy {
  readonly port: number;
  readonly stats: TcpProxyStats;
  /** Stops cutting: live and new connections are forwarded until closed. */
  stopCutting(): void;
  close(): Promise<void>;
}

/** How long a half-closed pair may linger before it is destroyed (the peer may never answer the FIN). */
const HALF_CLOSE_GRACE_MS = 500;

/** Starts a proxy on 127.0.0.1 (a free port) to `targetHost:targetPort`. */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const stats: TcpProxyStats = { connections: 0, halfCloses: 0, resets: 0, closedByPeers: 0 };
  const resetShare = options.resetShare ?? 0.5;
  const live = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let cutting = true;

  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  };

  const server: Server = createServer((client) => {
    stats.connections++;
    const upstream = connect(options.targetPort, options.targetHost);
    live.add(client);
    live.add(upstream);
    let done = false;
    // -ln(1 - u) * mean: exponential lifetimes, the memoryless cuts of a flaky path.
    const life = Math.max(5, -Math.log(1 - options.random()) * options.meanLifeMs);
    const reset = options.random() < resetShare;
    const cut = later(life, () => {
      if (done || !cutting) return;
      done = true;
      if (reset) {
        stats.resets++;
        client.resetAndDestroy();
        upstream.destroy();
      } else {
        stats.halfCloses++;
        client.end();
        upstream.end();
        later(HALF_CLOSE_GRACE_MS, () => {
          client.destroy();
          upstream.destroy();
        });
      }
    });
    const finish = (): void => {
      clearTimeout(cut);
      timers.delete(cut);
      if (!done) {
        done = true;
        stats.closedByPeers++;
      }
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => {
      live.delete(client);
      finish();
    });
    upstream.on('close', () => {
      live.delete(upstream);
      finish();
    });
    // Errors (ECONNRESET, EPIPE after a cut) only end the pair; 'close' follows.
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  return {
    port,
    stats,
    stopCutting() {
      cutting = false;
    },
    async close() {
      cutting = false;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of live) s.destroy();
      live.clear();
      await closed;
    },
  };
}
