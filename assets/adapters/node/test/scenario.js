'use strict';
// A real `ws` server with the wscope adapter, and real `ws` clients that misbehave.
// Used by the Rust tests (tests/node_adapter.rs); runs until killed.
//
// Prints one JSON line on stdout: {"feed": "ws://127.0.0.1:PORT/", "token": "...", "app": ...}.
// The clients start once the first feed subscriber has attached, so that everything they do
// shows as live events. What they do (the tests assert exactly these):
//   4 healthy clients: send 3 messages each, answer pings, stay open
//   1 client `leaky-1` closes cleanly (1000); the server forgets its `presence` timer: a leak
//   3 zombies: never answer pings (autoPong off); the server pings but never terminates them
//  10 clients are cut: their TCP connection is destroyed with no close frame (1006, none)
//   2 clients close cleanly themselves (1000, client)
//   1 client asks the server to close it (4000, server); 1 to terminate it (1006, server)
//   1 client `bad-frames` sends a frame with a reserved bit set: an `error`, then 1002 (server)
//   1 client `too-big` sends 100 KiB, over the server's maxPayload: an `error`, then 1009 (server)
//   6 upgrades with a bad Sec-WebSocket-Key (400); 1 GET with WebSocket headers but no Upgrade (426)
//   with WSCOPE_SCENARIO_MODE=noServer or http (the app's own http.Server upgrades; the adapter
//   is attached to the noServer WebSocketServer or to the http.Server): also 1 upgrade the app
//   itself rejects (401)
// Env: WSCOPE_SCENARIO_QUEUE_LIMIT / _MAX_IN_FLIGHT (feed queues), _BURST (N timers started
// and cleared in one tick after the first subscriber attaches, to overflow a small queue),
// WSCOPE_TEST_WS=oldest (the app uses `ws-oldest`, the oldest ws claimed, instead of `ws`).

const http = require('http');
const net = require('net');
const crypto = require('crypto');
const { WebSocket, WebSocketServer } = require(process.env.WSCOPE_TEST_WS === 'oldest' ? 'ws-oldest' : 'ws');
const wscope = require('..');

const env = (name, dflt) => (process.env[name] === undefined ? dflt : Number(process.env[name]));
const token = process.env.WSCOPE_TOKEN || crypto.randomBytes(16).toString('hex');

const PING_MS = 500;
const MAX_PAYLOAD = 64 * 1024;

/** The application server, in one of the three ways `ws` is set up. */
async function appServer(mode) {
  if (mode === 'standalone') {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX_PAYLOAD });
    await new Promise((r) => wss.once('listening', r));
    return { wss, target: wss, port: wss.address().port, extra: {} };
  }
  // noServer: the application's own http.Server does the upgrades, and rejects some itself.
  const server = http.createServer((req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain' });
    res.end('Upgrade Required');
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD });
  server.on('upgrade', (req, socket, head) => {
    if (req.url.includes('user=intruder')) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  // `noServer`: attach to the WebSocketServer and name the http.Server; `http`: attach to the
  // http.Server alone.
  const target = mode === 'noServer' ? wss : server;
  const extra = mode === 'noServer' ? { httpServer: server } : {};
  return { wss, target, port: server.address().port, extra };
}

async function main() {
  const mode = process.env.WSCOPE_SCENARIO_MODE || 'standalone';
  const { wss, target, port, extra } = await appServer(mode);
  const feed = wscope.instrument(target, {
    ...extra,
    token,
    port: 0,
    server: 'node-scenario',
    software: 'scenario/1.0',
    heartbeat: { pingIntervalMs: PING_MS, pongTimeoutMs: PING_MS },
    clientId: (req) => new URL(req.url, 'http://x').searchParams.get('user'),
    queueLimit: env('WSCOPE_SCENARIO_QUEUE_LIMIT', 10000),
    maxInFlight: env('WSCOPE_SCENARIO_MAX_IN_FLIGHT', 64),
    processEveryMs: 1000,
  });
  const addr = await feed.ready;

  wss.on('connection', (ws, req) => {
    const user = new URL(req.url, 'http://x').searchParams.get('user') || '';
    // The usual heartbeat, with the usual bug: it never terminates a socket that stopped
    // answering, so those become zombies.
    const heartbeat = feed.setInterval(ws, () => ws.ping(), PING_MS, { kind: 'heartbeat', name: 'hb' });
    const presence = feed.setInterval(ws, () => {}, 300, { kind: 'presence', name: 'presence' });
    ws.on('message', (data) => {
      const text = data.toString();
      if (text === 'close-me') ws.close(4000, 'server says bye');
      else if (text === 'terminate-me') ws.terminate();
      else ws.send(`echo:${text}`);
    });
    ws.on('close', () => {
      feed.clearInterval(heartbeat);
      // The leak: this code path forgets the presence timer for some users.
      if (!user.startsWith('leaky')) clearInterval(presence);
    });
    ws.on('error', () => {});
  });

  const app = `ws://127.0.0.1:${port}`;
  process.stdout.write(`${JSON.stringify({ feed: `ws://127.0.0.1:${addr.port}/`, token, app })}\n`);

  let started = false;
  feed.on('subscriber', () => {
    if (started) return;
    started = true;
    const burst = env('WSCOPE_SCENARIO_BURST', 0);
    for (let i = 0; i < burst; i++) feed.clearInterval(feed.setInterval(null, () => {}, 60000, { kind: 'burst' }));
    setTimeout(() => runClients(app, port, mode), 300);
  });
}

function open(url, options) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A raw upgrade request with a bad key, or a GET carrying WebSocket headers but no Upgrade. */
function badRequest(port, withUpgrade) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      const upgrade = withUpgrade ? 'Upgrade: websocket\r\nConnection: Upgrade\r\n' : '';
      sock.write(
        `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n${upgrade}` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not-a-valid-key\r\n' +
          'User-Agent: okhttp/4.12\r\n\r\n'
      );
    });
    sock.on('data', () => {
      sock.destroy();
      resolve();
    });
    sock.on('close', resolve);
    sock.on('error', resolve);
    setTimeout(() => sock.destroy(), 2000);
  });
}

async function runClients(app, port, mode) {
  const keep = [];
  const ua = { headers: { 'User-Agent': 'scenario-client/1.0', 'X-Forwarded-For': '198.51.100.23' } };
  for (let i = 1; i <= 4; i++) {
    const ws = await open(`${app}/ws?user=healthy-${i}`, ua);
    for (let m = 0; m < 3; m++) ws.send(`hello ${m}`);
    keep.push(ws);
  }
  const leaky = await open(`${app}/ws?user=leaky-1`, ua);
  leaky.send('hi');
  for (let i = 1; i <= 3; i++) keep.push(await open(`${app}/ws?user=zombie-${i}`, { ...ua, autoPong: false }));
  const cut = [];
  for (let i = 1; i <= 10; i++) cut.push(await open(`${app}/ws?user=cut-${i}`, ua));
  const clean = [];
  for (let i = 1; i <= 2; i++) clean.push(await open(`${app}/ws?user=clean-${i}`, ua));
  const closeMe = await open(`${app}/ws?user=close-me`, ua);
  const terminateMe = await open(`${app}/ws?user=terminate-me`, ua);
  const badFrames = await open(`${app}/ws?user=bad-frames`, ua);
  badFrames.on('error', () => {});
  const tooBig = await open(`${app}/ws?user=too-big`, ua);
  tooBig.on('error', () => {});
  closeMe.on('error', () => {});
  terminateMe.on('error', () => {});
  for (let i = 0; i < 6; i++) await badRequest(port, true);
  await badRequest(port, false);
  if (mode !== 'standalone') await open(`${app}/ws?user=intruder`, ua).catch(() => {});

  await sleep(700);
  leaky.close(1000, 'done');
  for (const ws of clean) ws.close(1000, 'done');
  closeMe.send('close-me');
  terminateMe.send('terminate-me');
  // FIN + RSV2 + text opcode, masked, empty: the server's parser rejects it.
  badFrames._socket.write(Buffer.from([0xa1, 0x80, 1, 2, 3, 4]));
  tooBig.send('x'.repeat(100 * 1024));
  // A cut: the transport vanishes with no close frame in either direction.
  for (const ws of cut) {
    ws.on('error', () => {});
    ws._socket.destroy();
  }
  globalThis.keepAlive = keep;
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
main().catch((err) => {
  process.stderr.write(`scenario: ${err.stack || err}\n`);
  process.exit(1);
});
