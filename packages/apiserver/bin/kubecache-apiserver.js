#!/usr/bin/env node
// Plain JavaScript on purpose: npm links a package's bins at install time, before `tsc -b` has
// produced dist/, and skips a bin whose file does not exist yet.
await import('../dist/cli.js');
