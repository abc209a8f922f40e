'use strict';
// The package as users get it: `npm pack`, then `npm install /path/to/package` (a symlink) and
// `npm install wscope-node-0.2.0.tgz` (a copy) into a temporary app that has its own `ws`; the
// app then requires `wscope-node` and instruments a server. Needs npm and the `ws` package from
// the registry or npm's cache: without them the test is skipped, and under CI=1 it fails.

const { test } = require('node:test');
const assert = require('assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const { need } = require('./helpers');

const PKG = path.join(__dirname, '..');
const npm = (args, cwd) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('npm pack, then npm install <folder> (symlink) and <tarball> into an app with its own ws', async (t) => {
  if (!need(t, 'npm')) return;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wscope-node-pkg-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', tmp], PKG));
  const files = packed.files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    'README.md',
    'index.d.ts',
    'index.js',
    'lib/feed.js',
    'lib/history.js',
    'lib/socketio.js',
    'lib/subscriber.js',
    'lib/util.js',
    'lib/ws.js',
    'package.json',
    'wscope-adapter.js',
  ]);
  const tarball = path.join(tmp, packed.filename);
  // The folder as a fresh checkout has it: no node_modules of its own.
  execFileSync('tar', ['xzf', tarball, '-C', tmp]);
  const folder = path.join(tmp, 'package');
  const wsVersion = require('ws/package.json').version;

  for (const [name, spec, linked] of [
    ['app-linked', folder, true],
    ['app-tarball', tarball, false],
  ]) {
    const app = path.join(tmp, name);
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
    try {
      npm(['install', '--prefer-offline', `ws@${wsVersion}`], app);
    } catch (err) {
      if (process.env.CI) throw err;
      t.skip(`cannot install ws from the registry or the cache: ${String(err.stderr).trim().split('\n')[0]}`);
      return;
    }
    npm(['install', spec], app);
    const installed = path.join(app, 'node_modules', 'wscope-node');
    assert.equal(fs.lstatSync(installed).isSymbolicLink(), linked, `${name}: symlink?`);
    if (linked) {
      // The trap: from the package's real path, `ws` is not to be found.
      const r = spawnSync(process.execPath, ['-e', `require.resolve('ws', { paths: [${JSON.stringify(folder)}] })`]);
      assert.notEqual(r.status, 0, 'ws must not resolve from the linked folder, or this test proves nothing');
    }
    fs.copyFileSync(path.join(__dirname, 'fixtures', 'installed-app.js'), path.join(app, 'main.js'));
    const run = spawnSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8', timeout: 20000 });
    assert.equal(run.status, 0, `${name}: ${run.stdout}\n${run.stderr}`);
    const out = JSON.parse(run.stdout);
    for (const r of out) {
      assert.equal(r.path, '/app', `${name} ${r.mode}`);
      assert.deepEqual(r.types.slice(0, 3), ['hello', 'snapshot', 'open'], `${name} ${r.mode}`);
      assert.equal(r.appWs, true, `${name} ${r.mode}: the feed uses the app's ws`);
    }
  }
});
