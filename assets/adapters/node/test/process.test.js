'use strict';
// Tests that need the instrumented app in its own process: `await feed.shutdown()` in a SIGTERM
// handler, and connection ids across a restart.

const { test } = require('node:test');
const assert = require('assert/strict');
const path = require('path');
const readline = require('readline');
const { spawn } = require('child_process');
const { io: ioClient } = require('socket.io-client');
const { WS_VERSION, sleep, waitFor, Recorder, openClient } = require('./helpers');

const FIXTURE = path.join(__dirname, 'fixtures', 'app.js');

async function startApp(env = {}) {
  const child = spawn(process.execPath, [FIXTURE], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
  });
  const info = JSON.parse(line);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, ...info };
}

async function recorder(app) {
  const r = new Recorder(`ws://127.0.0.1:${app.feed}/`);
  await r.opened;
  return r;
}

test(`ws ${WS_VERSION}: SIGTERM + await feed.shutdown() leaves every client's close in the feed`, async () => {
  const app = await startApp();
  const rec = await recorder(app);
  const clients = [];
  for (let i = 0; i < 5; i++) clients.push(await openClient(`ws://127.0.0.1:${app.app}/`));
  const got = [];
  for (const c of clients) c.on('close', (code, reason) => got.push([code, reason.toString()]));
  await rec.waitFor((ev) => ev.filter((e) => e.type === 'open').length === 5, 3000, 'opens');
  clients[0].send('last words');
  await sleep(20);
  app.child.kill('SIGTERM');
  const exit = await app.exited;
  assert.deepEqual(exit, { code: 0, signal: null });
  await waitFor(() => rec.closed !== null, 2000, 'the feed to end');
  assert.equal(rec.closed, 1001, 'the feed itself ends with 1001');
  const closes = rec.of('close');
  assert.equal(closes.length, 5);
  for (const c of closes) {
    assert.equal(c.code, 1001);
    assert.equal(c.initiator, 'server');
    assert.equal(c.reason, 'server shutting down');
  }
  assert.ok(rec.of('message').some((m) => m.dir === 'in' && m.count === 1), 'messages flushed before the close');
  await waitFor(() => got.length === 5, 2000, 'clients closed');
  assert.deepEqual(got[0], [1001, 'server shutting down']);
});

test('shutdown times out on a client that never answers its close, and still reports it', async () => {
  const app = await startApp({ FIXTURE_SHUTDOWN_MS: '300' });
  const rec = await recorder(app);
  const c = await openClient(`ws://127.0.0.1:${app.app}/`);
  await rec.waitFor((ev) => ev.some((e) => e.type === 'open'), 3000, 'open');
  c._socket.pause(); // reads nothing: never answers the close frame
  const t0 = Date.now();
  app.child.kill('SIGTERM');
  const exit = await app.exited;
  assert.equal(exit.code, 0);
  assert.ok(Date.now() - t0 < 2000, `shutdown took ${Date.now() - t0} ms`);
  await waitFor(() => rec.of('close').length === 1, 2000, 'the close');
  const [close] = rec.of('close');
  assert.equal(close.initiator, 'server');
  c.terminate();
});

test('Socket.IO: SIGTERM + await feed.shutdown() closes every client with 1001', async () => {
  const app = await startApp({ FIXTURE_KIND: 'sio' });
  const rec = await recorder(app);
  const clients = [];
  const reasons = [];
  for (const transports of [['websocket'], ['websocket'], ['polling']]) {
    const s = ioClient(`http://127.0.0.1:${app.app}`, { transports, reconnection: false });
    s.on('disconnect', (reason) => reasons.push(reason));
    clients.push(s);
  }
  await rec.waitFor((ev) => ev.filter((e) => e.type === 'open').length === 3, 5000, 'opens');
  app.child.kill('SIGTERM');
  assert.equal((await app.exited).code, 0);
  await waitFor(() => rec.of('close').length === 3, 2000, 'closes');
  for (const c of rec.of('close')) {
    assert.equal(c.code, 1001, JSON.stringify(c));
    assert.equal(c.initiator, 'server');
  }
  for (const s of clients) s.close();
});

test('connection ids do not repeat across a restart under the same server name', async () => {
  const ids = [];
  for (let run = 0; run < 2; run++) {
    const app = await startApp();
    const rec = await recorder(app);
    for (let i = 0; i < 2; i++) (await openClient(`ws://127.0.0.1:${app.app}/`)).close();
    await rec.waitFor((ev) => ev.filter((e) => e.type === 'close').length === 2, 3000, 'closes');
    assert.equal(rec.events[0].server, 'fixture-app');
    ids.push(rec.of('open').map((o) => o.conn));
    app.child.kill('SIGKILL');
    await app.exited;
    rec.close();
  }
  const boot = (id) => id.split('-')[0];
  for (const run of ids) {
    for (const [i, id] of run.entries()) assert.match(id, new RegExp(`^[0-9a-z]{8}-${i + 1}$`));
  }
  assert.notEqual(boot(ids[0][0]), boot(ids[1][0]), 'a new boot tag');
  assert.ok(parseInt(boot(ids[1][0]), 36) > parseInt(boot(ids[0][0]), 36), 'the later run, the later tag');
  assert.ok(Math.abs(parseInt(boot(ids[1][0]), 36) - Date.now()) < 60000, 'the tag is a time in ms');
  assert.equal(new Set([...ids[0], ...ids[1]]).size, 4);
});
