'use strict';
// `npm test`: every test file, once against the newest `ws` (`ws`) and once against the oldest
// claimed (`ws-oldest`, 8.17.1, and `socket.io-oldest`, 4.1.0, for the Socket.IO tests). Tests
// that depend on neither version (types, the package install) run in the first pass only.
// `node test/run-all.js [file...]` runs just those files (both passes).

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { versionOf } = require('./helpers');

const ONCE = new Set(['types.test.js', 'package.test.js']);
const all = fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort();
const picked = process.argv.slice(2).map((f) => path.basename(f));
const files = picked.length ? picked : all;

let failed = false;
for (const ws of ['newest', 'oldest']) {
  const run = files.filter((f) => ws === 'newest' || !ONCE.has(f) || picked.length);
  const version = versionOf(ws === 'oldest' ? 'ws-oldest' : 'ws');
  const sio = versionOf(ws === 'oldest' ? 'socket.io-oldest' : 'socket.io');
  process.stdout.write(`\n=== ws ${version}, socket.io ${sio} (${ws}): ${run.join(' ')}\n`);
  const r = spawnSync(
    process.execPath,
    ['--test', '--test-force-exit', '--test-timeout=60000', ...run.map((f) => path.join(__dirname, f))],
    { stdio: 'inherit', env: { ...process.env, WSCOPE_TEST_WS: ws } }
  );
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
