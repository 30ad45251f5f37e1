#!/usr/bin/env node
// Plain JavaScript on purpose: npm links a package's bins at install time, before `tsc -b` has
// produced dist/, and skips a bin whose file does not exist yet.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  // Only in a clone of the repository whose build has not run (the published package ships dist/).
  process.stderr.write(
    'kubecache-apiserver: not built yet (dist/cli.js is missing). In the kubecache repository run\n' +
      '`npm run build` (`npm ci` and `npm install` build too, unless scripts are disabled).\n',
  );
  process.exit(1);
}
await import(cli.href);
