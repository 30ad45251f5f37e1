/**
 * Replays the golden transcripts recorded from a real kube-apiserver (test/apiserver/golden/*.json,
 * schema in golden/transcript.ts, recorder in golden/record.ts) against the embedded server, over
 * real HTTP, and compares the answers.
 *
 * Transcripts with `"status": "asserted"` fail on any difference. `"pending"` ones (behaviour the
 * embedded server is known not to match yet) run in report-only mode: their differences are printed
 * as test diagnostics and the test passes. `GOLDEN_WRITE_DIFFERENCES=1` writes the differences found
 * into each pending transcript's `differences`. A step marked `embeddedDiffers` (a known,
 * explained difference, e.g. in a setup step) is compared in report-only mode even in an asserted
 * transcript. A request with `bodyFrom: N` sends the embedded server's own response body of step N
 * (a client writing back what it read), not the recorded one.
 *
 * Normalised before comparing (values that cannot match between two servers):
 * - `resourceVersion` values (metadata, list metadata, and numbers in Status messages that are
 *   known RVs): each side's RVs are numbered by order of first appearance (`<rv:N>`), so equality
 *   and order of appearance are compared, not the values. Real RVs in later requests
 *   (`resourceVersion=` queries, bodies) are translated to the embedded RV with the same number.
 * - continue tokens (`metadata.continue`): numbered the same way (`<continue:N>`) and translated
 *   in `continue=` queries; their encodings differ by design.
 * - `uid`s: numbered by first appearance (`<uid:N>`); translated in request bodies.
 * - RFC 3339 timestamps (`creationTimestamp`, `deletionTimestamp`, …): `<time>`; translated in
 *   request bodies.
 * - ages in Table cells (`rows[].cells`: `45s`, `3m20s`, `333d`, and a pod's restarts
 *   `3 (5m ago)`): `<age>`, as they depend on when each server answered.
 * - consecutive identical BOOKMARK events count once (see `dedupeBookmarks`).
 * Ignored:
 * - `metadata.managedFields`, unless the transcript sets `compareManagedFields` (then compared,
 *   their `time`s normalised like other timestamps, in a fixed order: the servers order entries
 *   by time to the second, which a second boundary can flip): transcripts recorded before the embedded
 *   server kept managed fields leave them out. They are always dropped from recorded request
 *   bodies (a PUT of a fetched object), as the real server's ones would not apply here.
 * - an empty `status: {}`: Go encodes an empty status struct (a new Deployment's) as `{}`; the
 *   embedded server stores objects as sent and has no Go types to tell it a status exists, so an
 *   empty status counts as no status on both sides.
 * Request headers: the recorded ones (Content-Type, Impersonate-User) are sent, and the server's
 * token when it has one (`embeddedOptions.token`): like the recorder's token on the real server, it
 * is a `system:masters` admin.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiServer, ApiServerOptions } from '@kubecache/apiserver';
import { setup } from './helpers.ts';
import type { RecordedRequest, Step, Transcript, WatchEventJson } from './golden/transcript.ts';
import { RECORDED_HEADERS } from './golden/transcript.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isEmptyObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
}

/** A Table cell's duration (`HumanDuration`: `0s`, `3m20s`, `2d3h`, `1y`) as `<age>`. */
const AGE = /^\d+[smhdy](\d+[smhd])?$/;
const RESTARTS_AGO = /^(\d+) \(\d+[smhdy](\d+[smhd])? ago\)$/;
function normalizeAge(cell: string): string {
  if (AGE.test(cell)) return '<age>';
  return cell.replace(RESTARTS_AGO, '$1 (<age> ago)');
}

/** The volatile values one server produced, numbered by first appearance. */
class Side {
  /** Compare `metadata.managedFields` (the transcript's `compareManagedFields`). */
  keepManagedFields = false;
  readonly rvs: string[] = [];
  readonly continues: string[] = [];
  readonly uids: string[] = [];

  private static index(list: string[], value: string): number {
    let i = list.indexOf(value);
    if (i < 0) i = list.push(value) - 1;
    return i;
  }

  rv(value: string): string {
    return `<rv:${Side.index(this.rvs, value)}>`;
  }

  /** A copy with volatile values replaced by placeholders and ignored fields dropped. */
  normalize(value: unknown, key = ''): unknown {
    if (key === 'cells' && Array.isArray(value)) {
      return value.map((v) => this.normalize(typeof v === 'string' ? normalizeAge(v) : v));
    }
    if (key === 'managedFields' && Array.isArray(value)) {
      // Entries are ordered by their time (to the second) before their manager, so two servers
      // answering across a second boundary order the same entries differently: compare them in
      // a fixed order.
      return value
        .map((v) => this.normalize(v))
        .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    }
    if (Array.isArray(value)) return value.map((v) => this.normalize(v));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (key === 'metadata' && k === 'managedFields' && !this.keepManagedFields) continue;
        if (k === 'status' && isEmptyObject(v)) continue;
        out[k] = this.normalize(v, k);
      }
      return out;
    }
    if (typeof value !== 'string' || value === '') return value;
    if (key === 'resourceVersion') return this.rv(value);
    if (key === 'continue') return `<continue:${Side.index(this.continues, value)}>`;
    if (key === 'uid') return `<uid:${Side.index(this.uids, value)}>`;
    if (TIME.test(value)) return '<time>';
    if (key === 'message') {
      // RVs quoted in Status messages ("too old resource version: 12 (40)"): known RVs only,
      // and only after `: ` or `(`, so numbers inside validation texts ('123-abc') stay.
      return value.replace(/(?<=: |\()\d+\b/g, (n) => (this.rvs.includes(n) ? this.rv(n) : n));
    }
    return value;
  }
}

/** Translates the real server's values in a recorded request into the embedded server's. */
class Translator {
  readonly real = new Side();
  readonly embedded = new Side();
  /** Real uid/timestamp → embedded one, paired by position in compared bodies. */
  readonly pairs = new Map<string, string>();

  pair(expected: unknown, actual: unknown, key = ''): void {
    if (typeof expected === 'string' && typeof actual === 'string') {
      if (expected !== actual && (key === 'uid' || TIME.test(expected))) {
        this.pairs.set(expected, actual);
      }
      return;
    }
    if (Array.isArray(expected) && Array.isArray(actual)) {
      expected.forEach((e, i) => this.pair(e, actual[i]));
      return;
    }
    if (expected && actual && typeof expected === 'object' && typeof actual === 'object') {
      for (const [k, e] of Object.entries(expected)) {
        this.pair(e, (actual as Record<string, unknown>)[k], k);
      }
    }
  }

  private mapped(list: string[], other: string[], value: string): string {
    const i = list.indexOf(value);
    return i >= 0 && other[i] !== undefined ? other[i] : value;
  }

  path(path: string): string {
    const q = path.indexOf('?');
    if (q < 0) return path;
    const params = new URLSearchParams(path.slice(q + 1));
    const rv = params.get('resourceVersion');
    if (rv) params.set('resourceVersion', this.mapped(this.real.rvs, this.embedded.rvs, rv));
    const cont = params.get('continue');
    if (cont) {
      params.set('continue', this.mapped(this.real.continues, this.embedded.continues, cont));
    }
    // Keep the recorded spelling of untouched parameters (e.g. `fieldSelector=a!%3Db`).
    const parts = path
      .slice(q + 1)
      .split('&')
      .map((part) => {
        const name = decodeURIComponent(part.split('=')[0]!);
        return name === 'resourceVersion' || name === 'continue'
          ? `${name}=${encodeURIComponent(params.get(name) ?? '')}`
          : part;
      });
    return `${path.slice(0, q)}?${parts.join('&')}`;
  }

  body(value: unknown, key = ''): unknown {
    if (Array.isArray(value)) return value.map((v) => this.body(v));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (key === 'metadata' && k === 'managedFields') continue;
        out[k] = this.body(v, k);
      }
      return out;
    }
    if (typeof value !== 'string') return value;
    if (key === 'resourceVersion') return this.mapped(this.real.rvs, this.embedded.rvs, value);
    return this.pairs.get(value) ?? value;
  }
}

/**
 * Consecutive identical BOOKMARKs count once: the real server's bookmark timer works in 1 s buckets
 * and may send the pre-timeout bookmark twice in a row (recordings show one or two), which carries
 * no information.
 */
function dedupeBookmarks(events: WatchEventJson[]): WatchEventJson[] {
  return events.filter(
    (e, i) =>
      e.type !== 'BOOKMARK' || i === 0 || JSON.stringify(events[i - 1]) !== JSON.stringify(e),
  );
}

/** Differences between two normalised values, as `path: expected …, actual …` lines. */
function diff(expected: unknown, actual: unknown, path: string, out: string[]): void {
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const n = Math.max(expected.length, actual.length);
    for (let i = 0; i < n; i++) {
      if (i >= expected.length) out.push(`${path}[${i}]: unexpected ${show(actual[i])}`);
      else if (i >= actual.length)
        out.push(`${path}[${i}]: missing, expected ${show(expected[i])}`);
      else diff(expected[i], actual[i], `${path}[${i}]`, out);
    }
    return;
  }
  if (
    expected !== null &&
    actual !== null &&
    typeof expected === 'object' &&
    typeof actual === 'object' &&
    !Array.isArray(expected) &&
    !Array.isArray(actual)
  ) {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    if (typeof e.kind === 'string' && typeof a.kind === 'string' && e.kind !== a.kind) {
      // A different kind of answer (a list versus a Status): one line, not a field-by-field diff.
      out.push(`${path}: expected ${show(e)}, actual ${show(a)}`);
      return;
    }
    for (const k of new Set([...Object.keys(e), ...Object.keys(a)])) {
      if (!(k in a)) out.push(`${path}.${k}: missing, expected ${show(e[k])}`);
      else if (!(k in e)) out.push(`${path}.${k}: unexpected ${show(a[k])}`);
      else diff(e[k], a[k], `${path}.${k}`, out);
    }
    return;
  }
  if (JSON.stringify(expected) !== JSON.stringify(actual)) {
    out.push(`${path}: expected ${show(expected)}, actual ${show(actual)}`);
  }
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? 'undefined';
  return s.length > 240 ? `${s.slice(0, 240)}…` : s;
}

interface LiveWatch {
  events: WatchEventJson[];
  taken: number;
  ended: boolean;
  abort: () => void;
}

function label(i: number, step: Step): string {
  const what = step.request
    ? `${step.request.method} ${step.request.path}`
    : step.collect
      ? `collect ${step.collect.watch}`
      : 'compact';
  return `step ${i} (${what}${step.note ? `; ${step.note}` : ''})`;
}

/** Reads a watch stream's JSON lines into `w.events` until it ends. */
async function readStream(w: LiveWatch, res: Response): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        if (line.trim() !== '') w.events.push(JSON.parse(line) as WatchEventJson);
      }
    }
  } catch {
    // aborted by the replay, or broken
  } finally {
    w.ended = true;
  }
}

/** Replays one transcript; returns the differences. */
async function replay(
  server: ApiServer,
  t: Transcript,
): Promise<{ diffs: string[]; knownDiffs: string[] }> {
  const tr = new Translator();
  tr.real.keepManagedFields = tr.embedded.keepManagedFields = t.compareManagedFields === true;
  const diffs: string[] = [];
  /** Differences in steps marked `embeddedDiffers` (reported, never failing). */
  const knownDiffs: string[] = [];
  const watches = new Map<string, LiveWatch>();
  /** The embedded server's response bodies, by step (for `bodyFrom`). */
  const responses: unknown[] = [];
  let known = false;
  const compare = (where: string, expected: unknown, actual: unknown) => {
    const out: string[] = [];
    const e = tr.real.normalize(expected);
    const a = tr.embedded.normalize(actual);
    tr.pair(expected, actual);
    diff(e, a, '', out);
    for (const d of out) (known ? knownDiffs : diffs).push(`${where}: ${d.replace(/^\./, '')}`);
  };
  try {
    for (const [i, step] of t.steps.entries()) {
      const where = label(i, step);
      known = step.embeddedDiffers !== undefined;
      if (step.compact) {
        server.faults.compactHistory();
        continue;
      }
      if (step.collect) {
        const w = watches.get(step.collect.watch);
        const want = step.collect.events.length;
        if (!w) {
          (known ? knownDiffs : diffs).push(
            `${where}: the watch did not open on the embedded server`,
          );
          continue;
        }
        const deadline = Date.now() + (step.collect.ended ? 4000 : 1000);
        while (Date.now() < deadline) {
          if (step.collect.ended ? w.ended : w.events.length - w.taken >= want || w.ended) break;
          await sleep(10);
        }
        if (!w.ended) await sleep(100); // catch an extra event
        const events = w.events.slice(w.taken);
        w.taken = w.events.length;
        compare(`${where} events`, dedupeBookmarks(step.collect.events), dedupeBookmarks(events));
        if (w.ended !== step.collect.ended) {
          (known ? knownDiffs : diffs).push(
            `${where}: stream ended: expected ${step.collect.ended}, actual ${w.ended}`,
          );
        }
        continue;
      }
      const req = step.request as RecordedRequest;
      const expected = step.response!;
      // The recorder (node:https) sent no User-Agent, which the real server's field manager
      // records as the manager "unknown"; fetch would send "node".
      const headers: Record<string, string> = {
        Accept: 'application/json',
        'User-Agent': '',
        ...req.headers,
      };
      // The recorder authenticated as a system:masters admin: the server's own token is one.
      if (server.token) headers.Authorization = `Bearer ${server.token}`;
      const init: RequestInit = { method: req.method, headers };
      if (req.bodyFrom !== undefined) {
        // A read-modify-write client sends back what it read from this server.
        init.body = JSON.stringify(tr.body(responses[req.bodyFrom]));
      } else if (req.body !== undefined) {
        init.body = JSON.stringify(tr.body(req.body));
      } else if (req.bodyBase64 !== undefined) {
        init.body = Buffer.from(req.bodyBase64, 'base64');
      } else if (req.bodyText !== undefined) {
        init.body = req.bodyText;
      }
      const url = server.url + tr.path(req.path);
      const controller = new AbortController();
      init.signal = controller.signal;
      const res = await fetch(url, init);
      const got: Record<string, string> = {};
      for (const h of RECORDED_HEADERS) {
        const v = res.headers.get(h);
        if (v !== null) got[h] = v;
      }
      let body: unknown;
      let bodyText: string | undefined;
      if (req.watch !== undefined && res.status === 200) {
        const w: LiveWatch = {
          events: [],
          taken: 0,
          ended: false,
          abort: () => controller.abort(),
        };
        watches.set(req.watch, w);
        void readStream(w, res);
      } else {
        // A response the real server ended (e.g. a 403 to a watch) may be a stream here.
        const timer = setTimeout(() => controller.abort(), 2000);
        try {
          const text = await res.text();
          try {
            body = JSON.parse(text) as unknown;
          } catch {
            bodyText = text;
          }
        } catch {
          bodyText = '<the response did not end within 2 s (a watch stream?)>';
        } finally {
          clearTimeout(timer);
        }
      }
      responses[i] = body;
      compare(
        where,
        {
          status: expected.status,
          headers: expected.headers,
          body: expected.body,
          bodyText: expected.bodyText,
        },
        { status: res.status, headers: got, body, bodyText },
      );
    }
  } finally {
    for (const w of watches.values()) w.abort();
  }
  return { diffs, knownDiffs };
}

describe('apiserver golden transcripts (from a real kube-apiserver)', { concurrency: true }, () => {
  for (const file of FILES) {
    const path = join(DIR, file);
    const t = JSON.parse(readFileSync(path, 'utf8')) as Transcript;
    it(`${file.replace(/\.json$/, '')} [${t.status}]`, async (ctx) => {
      const { server } = await setup({ ...(t.embeddedOptions as ApiServerOptions | undefined) });
      let result: { diffs: string[]; knownDiffs: string[] };
      try {
        result = await replay(server, t);
      } finally {
        await server.close();
      }
      const { diffs, knownDiffs } = result;
      for (const d of knownDiffs) ctx.diagnostic(`${file} (embeddedDiffers step): ${d}`);
      if (t.status === 'asserted') {
        assert.deepEqual(diffs, [], `${file}: the embedded server differs from ${t.recordedFrom}`);
        return;
      }
      if (diffs.length === 0) {
        ctx.diagnostic(`${file}: pending, but no difference any more: mark it "asserted"`);
      }
      for (const d of diffs) ctx.diagnostic(`${file} (pending): ${d}`);
      if (process.env.GOLDEN_WRITE_DIFFERENCES === '1') {
        const fresh = JSON.parse(readFileSync(path, 'utf8')) as Transcript;
        fresh.differences = diffs;
        writeFileSync(path, JSON.stringify(fresh, null, 2) + '\n');
      }
    });
  }
});
