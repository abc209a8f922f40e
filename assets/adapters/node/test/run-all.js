'use strict';
// `npm test`: every test file, once against the newest `ws` (`ws`) and once against the oldest
// claimed (`ws-oldest`, 8.17.1). Tests that do not depend on the `ws` version (types, the
// package install, Socket.IO, which brings its own ws) run in the first pass only.
// `node test/run-all.js [file...]` runs just those files (both passes).

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const ONCE = new Set(['types.test.js', 'package.test.js', 'socketio.test.js']);
const all = fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort();
const picked = process.argv.slice(2).map((f) => path.basename(f));
const files = picked.length ? picked : all;

let failed = false;
for (const ws of ['newest', 'oldest']) {
  const run = files.filter((f) => ws === 'newest' || !ONCE.has(f) || picked.length);
  const version = require(`${ws === 'oldest' ? 'ws-oldest' : 'ws'}/package.json`).version;
  process.stdout.write(`\n=== ws ${version} (${ws}): ${run.join(' ')}\n`);
  const r = spawnSync(
    process.execPath,
    ['--test', '--test-force-exit', '--test-timeout=60000', ...run.map((f) => path.join(__dirname, f))],
    { stdio: 'inherit', env: { ...process.env, WSCOPE_TEST_WS: ws } }
  );
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
