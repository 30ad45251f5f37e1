import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runExample } from './run-example.ts';

const EXAMPLE = 'examples/leader-election.ts';

describe('examples/leader-election.ts --demo', () => {
  it('fails over from a killed leader after the lease expires and from a stopped one at once, never two leaders, and exits 0', async () => {
    const { code, stdout, stderr } = await runExample(EXAMPLE, ['--demo']);
    assert.equal(code, 0, `${stderr}\n${stdout}`);
    assert.equal(stderr, '');
    const lines = stdout.split('\n');
    /** Index of the first line matching `re` (after `from`), asserting there is one. */
    const at = (re: RegExp, from = 0): number => {
      const i = lines.findIndex((l, n) => n >= from && re.test(l));
      assert.ok(i >= 0, `no line matches ${re} after line ${from}:\n${stdout}`);
      return i;
    };
    const ordered = (...patterns: RegExp[]): void => {
      let from = 0;
      for (const re of patterns) from = at(re, from) + 1;
    };
    const stamp = String.raw`^\[\s*\d+\.\d{3} s\] `;
    const line = (text: string): RegExp => new RegExp(stamp + text);

    assert.match(
      stdout,
      /^Timings: leaseDuration 2000 ms, renewDeadline 1500 ms, retryPeriod 250 ms$/m,
    );
    ordered(
      line(
        String.raw`replica-a started leading \(lease default/leader-election-demo, transitions 0\)$`,
      ),
      line('killed replica-a$'),
      line(
        String.raw`replica-b started leading \(lease default/leader-election-demo, transitions 1\)$`,
      ),
      line('fail-over after a kill: '),
      line('stopping replica-b'),
      line('replica-b released the lease$'),
      line(
        String.raw`replica-c started leading \(lease default/leader-election-demo, transitions 2\)$`,
      ),
      line('fail-over after a release: '),
      /^no two replicas led at the same time$/,
    );
    // Each leader reconciled every ConfigMap there was, and only while it led.
    for (const [who, names] of [
      ['replica-a', ['demo-1', 'demo-2']],
      ['replica-b', ['demo-1', 'demo-2', 'demo-3']],
      ['replica-c', ['demo-1', 'demo-2', 'demo-3', 'demo-4']],
    ] as const) {
      const started = at(line(`${who} started leading`));
      for (const name of names) {
        assert.ok(
          at(line(`${who} reconciled default/${name}: demo.kubecache.io/reconciled-by=${who}$`)) >
            started,
          `${who} ${name}`,
        );
      }
    }
    assert.ok(
      at(line('replica-b reconciled')) > at(line('killed replica-a$')),
      'the standby did nothing before it led',
    );
    assert.doesNotMatch(stdout, /failed|OVERLAPPED|informer:/);

    const measured =
      /^measured: kill -> new leader (\d+) ms; release -> new leader (\d+) ms$/m.exec(stdout);
    assert.ok(measured !== null, stdout);
    // The killed leader's Lease must expire before anyone takes over: at least the lease duration
    // after the last renewal, which was at most one retry period before the kill.
    assert.ok(Number(measured[1]) >= 2000 - 250 - 50, `kill -> new leader ${measured[1]} ms`);
    assert.equal(lines.filter((l) => l.length > 0).at(-1), 'Done.');
  });
});
