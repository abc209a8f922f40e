'use strict';
// A real Socket.IO 4 server with wscope-node, and real socket.io-client clients that misbehave.
// Used by the Rust tests (tests/node_socketio.rs); runs until killed. Prints one JSON line on
// stdout: {"feed": "ws://127.0.0.1:PORT/", "token": "...", "app": "http://127.0.0.1:PORT"}.
// The clients start once the first feed subscriber has attached. What they do:
//   4 healthy clients (websocket) and 2 (polling): send 3 events each, stay connected
//   2 clients (polling) disconnect themselves: 1000, client ("client namespace disconnect")
//   1 client is kicked by the server (socket.disconnect(true)): 1000, server
//  10 clients have their TCP socket destroyed: 1006, none ("transport close")
//   3 clients stop reading and writing their socket (a frozen app): Engine.IO's ping timeout, 1006, server
// Engine.IO heartbeat: pingInterval 500 ms, pingTimeout 500 ms.

const http = require('http');
const crypto = require('crypto');
// WSCOPE_TEST_WS=oldest: the oldest Socket.IO claimed (`socket.io-oldest`), as in the tests.
const { Server } = require(process.env.WSCOPE_TEST_WS === 'oldest' ? 'socket.io-oldest' : 'socket.io');
const { io: ioClient } = require('socket.io-client');
const wscope = require('..');

const token = process.env.WSCOPE_TOKEN || crypto.randomBytes(16).toString('hex');

async function main() {
  const server = http.createServer();
  const io = new Server(server, { pingInterval: 500, pingTimeout: 500 });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const feed = wscope.instrument(io, {
    token,
    port: 0,
    server: 'sio-scenario',
    software: 'sio-scenario/1.0',
    clientId: (req) => new URL(req.url, 'http://x').searchParams.get('user'),
    processEveryMs: 1000,
  });
  io.on('connection', (socket) => {
    socket.on('chat', (m) => socket.emit('chat', `echo:${m}`));
    socket.on('kick-me', () => socket.disconnect(true));
  });
  const addr = await feed.ready;
  const app = `http://127.0.0.1:${server.address().port}`;
  process.stdout.write(`${JSON.stringify({ feed: `ws://127.0.0.1:${addr.port}/`, token, app })}\n`);
  let started = false;
  feed.on('subscriber', () => {
    if (started) return;
    started = true;
    setTimeout(() => runClients(app).catch((e) => process.stderr.write(`${e.stack}\n`)), 300);
  });
}

function connect(app, user, transports) {
  const s = ioClient(app, {
    transports,
    reconnection: false,
    query: { user },
    extraHeaders: { 'User-Agent': 'sio-scenario-client/1.0', 'X-Forwarded-For': '198.51.100.23' },
  });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function runClients(app) {
  const keep = [];
  for (let i = 1; i <= 4; i++) keep.push(await connect(app, `healthy-${i}`, ['websocket']));
  for (let i = 1; i <= 2; i++) keep.push(await connect(app, `healthy-poll-${i}`, ['polling']));
  for (const s of keep) for (let m = 0; m < 3; m++) s.emit('chat', `hello ${m}`);
  const clean = [];
  for (let i = 1; i <= 2; i++) clean.push(await connect(app, `clean-${i}`, ['polling']));
  const kicked = await connect(app, 'kicked', ['websocket']);
  const cut = [];
  for (let i = 1; i <= 10; i++) cut.push(await connect(app, `cut-${i}`, ['websocket']));
  const frozen = [];
  for (let i = 1; i <= 3; i++) frozen.push(await connect(app, `frozen-${i}`, ['websocket']));
  await sleep(700);
  for (const s of clean) s.disconnect();
  kicked.emit('kick-me');
  // engine.io-client's websocket transport keeps its `ws` WebSocket in `.ws` (internal).
  for (const s of cut) s.io.engine.transport.ws._socket.destroy();
  // Frozen: reads nothing and sends nothing (corked), as a suspended app, so that no pong and
  // no close of the client's own (its engine.io-client times out too) reaches the server.
  for (const s of frozen) {
    const sock = s.io.engine.transport.ws._socket;
    sock.pause();
    sock.cork();
  }
  globalThis.keepAlive = [keep, frozen];
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
main().catch((err) => {
  process.stderr.write(`sio-scenario: ${err.stack || err}\n`);
  process.exit(1);
});
