import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runExample } from './run-example.ts';

const EXAMPLE = 'examples/myapp-controller.ts';

describe('examples/myapp-controller.ts --demo', () => {
  it('registers the CRD, reconciles every step of the script, shows every watch event type and exits 0', async () => {
    const { code, stdout, stderr } = await runExample(EXAMPLE, ['--demo']);
    assert.equal(code, 0, `${stderr}\n${stdout}`);
    assert.equal(stderr, '');
    const lines = stdout.split('\n');
    const at = (line: string): number => {
      const i = lines.indexOf(line);
      assert.ok(i >= 0, `missing line: ${line}\n${stdout}`);
      return i;
    };
    /** The lines from one step header to the next. */
    const step = (n: number): string[] => {
      const start = lines.findIndex((l) => l.startsWith(`== ${n}. `));
      assert.ok(start >= 0, `step ${n}\n${stdout}`);
      const end = lines.findIndex((l, i) => i > start && /^== \d\. /.test(l));
      return lines.slice(start, end < 0 ? undefined : end);
    };
    const has = (section: string[], pattern: RegExp): void =>
      assert.ok(
        section.some((l) => pattern.test(l)),
        `no line matches ${pattern}:\n${section.join('\n')}`,
      );

    assert.ok(at('CRD myapps.my.domain created') < at('CRD myapps.my.domain is served'));
    assert.match(stdout, /^watch: RESTARTED with 0 MyApps at RV \d+ \(initial list\)$/m);

    const s1 = step(1);
    has(s1, /^watch: ADDED default\/web version=1\.0\.0$/);
    has(s1, /^watch: ADDED default\/api version=2\.1\.0$/);
    has(
      s1,
      /^reconcile default\/web: created ConfigMap web-config \(appName=web version=1\.0\.0\)$/,
    );
    has(
      s1,
      /^reconcile default\/api: created ConfigMap api-config \(appName=api version=2\.1\.0\)$/,
    );
    has(s1, /^reconcile default\/web: status configMap=web-config observedVersion=1\.0\.0$/);
    has(s1, /^watch: MODIFIED default\/web version=1\.0\.0 observed=1\.0\.0$/);
    has(
      s1,
      /^web-config data=\{"appName":"web","version":"1\.0\.0"\} owner=MyApp\/web controller=true$/,
    );

    const s2 = step(2);
    has(s2, /^watch: MODIFIED default\/web version=1\.1\.0 observed=1\.0\.0$/);
    has(
      s2,
      /^reconcile default\/web: updated ConfigMap web-config \(version 1\.0\.0 -> 1\.1\.0\)$/,
    );
    has(s2, /^reconcile default\/web: status configMap=web-config observedVersion=1\.1\.0$/);

    const s3 = step(3);
    has(
      s3,
      /^reconcile default\/web: created ConfigMap web-config \(appName=web version=1\.1\.0\)$/,
    );
    has(s3, /^web-config recreated \(new uid\), data=\{"appName":"web","version":"1\.1\.0"\}$/);

    const s4 = step(4);
    for (const retry of [0, 1, 2]) {
      has(
        s4,
        new RegExp(
          `^reconcile default/broken failed \\(retry ${retry}\\): invalid spec\\.version "latest"`,
        ),
      );
    }
    const fix = s4.indexOf('== fix default/broken: version latest -> 3.0.0');
    assert.ok(fix > 0, s4.join('\n'));
    const fixed = s4.slice(fix);
    has(
      fixed,
      /^reconcile default\/broken: created ConfigMap broken-config \(appName=broken version=3\.0\.0\)$/,
    );
    has(
      fixed,
      /^reconcile default\/broken: status configMap=broken-config observedVersion=3\.0\.0$/,
    );
    // A retry already under way when the fix landed may still fail once; none after the success.
    const success = fixed.findIndex((l) => l.startsWith('reconcile default/broken: created'));
    assert.ok(
      !fixed.slice(success).some((l) => l.startsWith('reconcile default/broken failed')),
      'fixed for good',
    );

    has(step(5), /^watch: BOOKMARK at RV \d+$/);
    const s6 = step(6);
    has(s6, /^watch: ERROR 410 Expired \(watch-event\), relist in 0 ms$/);
    has(s6, /^watch: RESTARTED with 3 MyApps at RV \d+ \(relisted\)$/);

    const s7 = step(7);
    has(s7, /^watch: DELETED default\/api version=2\.1\.0 observed=2\.1\.0$/);
    has(s7, /^reconcile default\/api: MyApp gone; .*garbage collector/);
    has(
      s7,
      /^ConfigMap default\/api-config is still there, owned by the deleted MyApp: the embedded API server has no garbage collector/,
    );

    // Writes only when something changed: one status write per observed version, and the
    // ConfigMap of web created twice (at first, and after its deletion) and updated once.
    const count = (re: RegExp): number => lines.filter((l) => re.test(l)).length;
    assert.equal(count(/^reconcile default\/web: status .*observedVersion=1\.0\.0$/), 1, stdout);
    assert.equal(count(/^reconcile default\/web: status .*observedVersion=1\.1\.0$/), 1, stdout);
    assert.equal(count(/^reconcile default\/web: created ConfigMap/), 2, stdout);
    assert.equal(count(/^reconcile default\/web: updated ConfigMap/), 1, stdout);

    // Every watch event type of the raw watcher appeared.
    for (const type of ['RESTARTED', 'ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']) {
      assert.ok(
        lines.some((l) => l.startsWith(`watch: ${type} `)),
        `watch: ${type}`,
      );
    }
    assert.equal(lines.filter((l) => l.length > 0).at(-1), 'Done.');
  });
});
