'use strict';
// A real Socket.IO 4 server, instrumented, with real socket.io-client clients: some close
// normally, one is kicked by the server, one's process is killed, one's process is frozen so
// that Engine.IO's ping timeout fires. The feed is checked event by event against the protocol.

const { test } = require('node:test');
const assert = require('assert/strict');
const http = require('http');
const path = require('path');
const readline = require('readline');
const { spawn } = require('child_process');
const { io: ioClient } = require('socket.io-client');
const wscope = require('..');
const { TOKEN, SIO_NAME, SIO_VERSION, sleep, waitFor, Recorder } = require('./helpers');

const { Server } = require(SIO_NAME);

const PING_INTERVAL = 300;
const PING_TIMEOUT = 400;

function child(url, user) {
  const c = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'sio-client.js'), url, user], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const connected = new Promise((resolve, reject) => {
    readline.createInterface({ input: c.stdout }).once('line', resolve);
    c.once('exit', (code) => reject(new Error(`client ${user} exited with ${code}`)));
  });
  return { c, connected };
}

function connect(url, user, opts = {}) {
  const s = ioClient(url, {
    reconnection: false,
    query: { user },
    extraHeaders: { 'User-Agent': `sio-test/1.0 (${user})`, 'X-Forwarded-For': '203.0.113.5' },
    ...opts,
  });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

test(`Socket.IO ${SIO_VERSION}: opens, messages, heartbeat, every kind of close, rejections`, async () => {
  const server = http.createServer();
  const io = new Server(server, { pingInterval: PING_INTERVAL, pingTimeout: PING_TIMEOUT });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  const feed = wscope.instrument(io, {
    token: TOKEN,
    port: 0,
    processEveryMs: 0,
    aggregateMs: 50,
    server: 'sio-test',
    clientId: (req) => new URL(req.url, 'http://x').searchParams.get('user'),
  });
  const bySocket = new Map();
  const onConnection = (socket) => {
    bySocket.set(socket.handshake.query.user, socket);
    socket.on('chat', (m) => socket.emit('chat', `echo:${m}`));
    socket.on('kick-me', () => socket.disconnect(true));
  };
  io.on('connection', onConnection);
  io.of('/admin').on('connection', () => {}); // a second namespace, created after instrument()

  const rec = await Recorder.at(feed);
  assert.deepEqual(rec.events[0].heartbeat, { ping_interval_ms: PING_INTERVAL, pong_timeout_ms: PING_TIMEOUT });

  const wsClean = await connect(url, 'ws-clean', { transports: ['websocket'] });
  const pollClean = await connect(url, 'poll-clean', { transports: ['polling'] });
  const upgraded = await connect(url, 'upgraded'); // polling, then upgraded to websocket
  const kicked = await connect(url, 'kicked', { transports: ['websocket'] });
  const admin = wsClean.io.socket('/admin'); // same engine connection, another namespace
  await new Promise((r) => admin.once('connect', r));
  const killed = child(url, 'killed');
  const frozen = child(url, 'frozen');
  await Promise.all([killed.connected, frozen.connected]);
  await waitFor(() => upgraded.io.engine.transport.name === 'websocket', 3000, 'the upgrade');

  for (const s of [wsClean, pollClean, upgraded]) for (let i = 0; i < 3; i++) s.emit('chat', `m${i}`);
  await new Promise((r) => {
    let n = 0;
    wsClean.on('chat', () => ++n === 3 && r());
  });
  // A couple of heartbeats for everyone.
  await sleep(PING_INTERVAL * 2 + 100);
  assert.equal(feed.appState(bySocket.get('ws-clean'), 'background'), true, 'a Socket.IO socket is accepted');

  frozen.c.kill('SIGSTOP');
  killed.c.kill('SIGKILL');
  admin.disconnect();
  wsClean.disconnect();
  pollClean.disconnect();
  kicked.emit('kick-me');
  // A handshake Engine.IO refuses.
  await new Promise((resolve) => http.get(`${url}/socket.io/?EIO=4&transport=bogus`, (res) => res.resume().on('end', resolve)));

  // The frozen client stops answering pings: Engine.IO gives up after pingInterval + pingTimeout.
  await rec.waitFor((ev) => ev.filter((e) => e.type === 'close').length === 5, 5000, 'five closes');
  frozen.c.kill('SIGKILL');
  upgraded.disconnect();
  await rec.waitFor((ev) => ev.filter((e) => e.type === 'close').length === 6, 3000, 'six closes');
  await sleep(100);

  const user = new Map(rec.of('open').map((o) => [o.conn, o.client]));
  assert.deepEqual([...user.values()].sort(), ['frozen', 'kicked', 'killed', 'poll-clean', 'upgraded', 'ws-clean']);
  for (const o of rec.of('open')) {
    assert.match(o.conn, /^[0-9a-z]{8}-\d+$/);
    assert.equal(o.path, '/socket.io/');
    assert.match(o.remote, /^127\.0\.0\.1:\d+$/);
    if (o.client === 'killed' || o.client === 'frozen') assert.equal(o.user_agent, 'sio-child/1.0');
    else {
      assert.equal(o.user_agent, `sio-test/1.0 (${o.client})`);
      assert.equal(o.forwarded_for, '203.0.113.5');
    }
  }
  const closes = Object.fromEntries(rec.of('close').map((c) => [user.get(c.conn), [c.code, c.initiator, c.reason]]));
  assert.deepEqual(closes, {
    // Engine.IO's client closes its WebSocket with a close frame without status: null (1005).
    'ws-clean': [null, 'client', 'client namespace disconnect'],
    'poll-clean': [1000, 'client', 'client namespace disconnect'],
    upgraded: [null, 'client', 'client namespace disconnect'],
    kicked: [1000, 'server', 'server namespace disconnect'],
    killed: [1006, 'none', 'transport close'],
    frozen: [1006, 'server', 'ping timeout'],
  });

  // Engine.IO's heartbeat as ping/pong; the frozen client's last pings go unanswered.
  const conn = (u) => [...user].find(([, v]) => v === u)[0];
  for (const u of ['ws-clean', 'poll-clean', 'upgraded']) {
    assert.ok(rec.of('ping').filter((p) => p.conn === conn(u)).length >= 2, `${u} pinged`);
    const pongs = rec.of('pong').filter((p) => p.conn === conn(u));
    assert.ok(pongs.length >= 2, `${u} answered`);
    for (const p of pongs) assert.ok(p.rtt_ms >= 0 && p.rtt_ms < PING_TIMEOUT);
  }
  const frozenEvents = rec.events.filter((e) => e.conn === conn('frozen')).map((e) => e.type);
  assert.deepEqual(frozenEvents.slice(-2), ['ping', 'close'], 'a ping, no pong, then the close');

  // Messages: Engine.IO message packets, aggregated; each client sent its CONNECT and 3 chats.
  const sum = (u, dir) =>
    rec.of('message').filter((m) => m.conn === conn(u) && m.dir === dir).reduce((n, m) => n + m.count, 0);
  assert.ok(sum('ws-clean', 'in') >= 4, `ws-clean in ${sum('ws-clean', 'in')}`);
  assert.ok(sum('ws-clean', 'out') >= 4, `ws-clean out ${sum('ws-clean', 'out')}`);
  assert.ok(sum('poll-clean', 'in') >= 4);
  assert.ok(sum('upgraded', 'out') >= 4);
  assert.deepEqual(
    rec.of('app_state').map((e) => [user.get(e.conn), e.state]),
    [['ws-clean', 'background']]
  );
  const rejected = rec.of('upgrade_rejected');
  assert.ok(rejected.some((r) => r.status === 400 && r.reason === 'Transport unknown'), JSON.stringify(rejected));

  rec.close();
  await feed.close();
  io.close();
});

test('Socket.IO: a close frame that Engine.IO outruns still gives its code (ws _closeCode)', async () => {
  // The client sends a close frame (4002 "bye") and then reads nothing: `ws` answers and waits
  // for the TCP end before it emits `close`, while Engine.IO's next ping fails to write
  // ("transport error"), so the feed learns the code from the frame `ws` received.
  const server = http.createServer();
  const io = new Server(server, { pingInterval: 200, pingTimeout: 200 });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const feed = wscope.instrument(io, { token: TOKEN, port: 0, processEveryMs: 0 });
  const rec = await Recorder.at(feed);
  const s = await connect(`http://127.0.0.1:${server.address().port}`, 'raw-close', { transports: ['websocket'] });
  await rec.waitFor((ev) => ev.some((e) => e.type === 'open'), 3000, 'open');
  const sock = s.io.engine.transport.ws._socket; // engine.io-client's ws WebSocket's net.Socket
  // FIN + close, masked (key 0), payload: 4002 (0x0fa2) + "bye".
  sock.write(Buffer.from([0x88, 0x85, 0, 0, 0, 0, 0x0f, 0xa2, 0x62, 0x79, 0x65]));
  sock.pause();
  await rec.waitFor((ev) => ev.some((e) => e.type === 'close'), 3000, 'close');
  const [close] = rec.of('close');
  assert.deepEqual([close.code, close.initiator, close.reason], [4002, 'client', 'bye']);
  sock.destroy();
  rec.close();
  await feed.close();
  io.close();
});

test('Socket.IO: io.close() is reported as 1001 from the server; a Server attached later is seen', async () => {
  const io = new Server({ pingInterval: 10000 });
  const feed = wscope.instrument(io, { token: TOKEN, port: 0, processEveryMs: 0, ws: require('ws') });
  const server = http.createServer();
  io.attach(server);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const rec = await Recorder.at(feed);
  assert.equal(rec.events[0].heartbeat.ping_interval_ms, 10000);
  const s = await connect(`http://127.0.0.1:${server.address().port}`, 'late', { transports: ['polling'] });
  await rec.waitFor((ev) => ev.some((e) => e.type === 'open'), 3000, 'open');
  io.close();
  await rec.waitFor((ev) => ev.some((e) => e.type === 'close'), 3000, 'close');
  const [close] = rec.of('close');
  assert.deepEqual([close.code, close.initiator, close.reason], [1001, 'server', 'server shutting down']);
  s.close();
  rec.close();
  await feed.close();
});
