'use strict';
// `node test/bench.js`: what wscope-node costs a busy server (a bench, not a test).
// Side by side in one run, alternating: a plain `ws` echo server and the same server
// instrumented (default options, history on) with one wscope subscriber reading the feed;
// then the same for Socket.IO. Each server runs in its own process; the clients and the
// subscriber run in this one. Prints the median messages/s of each and the ratio.
// Env: BENCH_ROUNDS (5), BENCH_WS_CLIENTS (50), BENCH_WS_MSGS (4000 per client),
// BENCH_SIO_CLIENTS (20), BENCH_SIO_MSGS (2000 per client).

const http = require('http');
const readline = require('readline');
const { spawn } = require('child_process');

const num = (name, dflt) => Number(process.env[name] || dflt);
const ROUNDS = num('BENCH_ROUNDS', 5);
const PAYLOAD = '{"op":"chat","text":"hello there"}';

// ---- the server process ---------------------------------------------------------------------

async function serve(kind, mode) {
  const wscope = require('..');
  let port;
  let feed;
  if (kind === 'ws') {
    const { WebSocketServer } = require('ws');
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
    port = wss.address().port;
    if (mode === 'instrumented') feed = wscope.instrument(wss, { token: 'bench', port: 0 });
  } else {
    const { Server } = require('socket.io');
    const server = http.createServer();
    const io = new Server(server);
    io.on('connection', (socket) => socket.on('chat', (m) => socket.emit('chat', m)));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    port = server.address().port;
    if (mode === 'instrumented') feed = wscope.instrument(io, { token: 'bench', port: 0 });
  }
  const feedPort = feed ? (await feed.ready).port : null;
  process.stdout.write(`${JSON.stringify({ port, feedPort })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

// ---- the clients ----------------------------------------------------------------------------

async function startServer(kind, mode) {
  const child = spawn(process.execPath, [__filename, '--serve', kind, mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise((r) => readline.createInterface({ input: child.stdout }).once('line', r));
  return { child, ...JSON.parse(line) };
}

async function wsRun(port) {
  const { WebSocket } = require('ws');
  const n = num('BENCH_WS_CLIENTS', 50);
  const per = num('BENCH_WS_MSGS', 4000);
  const clients = await Promise.all(
    Array.from({ length: n }, () => new Promise((r) => {
      const c = new WebSocket(`ws://127.0.0.1:${port}/`);
      c.once('open', () => r(c));
    }))
  );
  const t0 = process.hrtime.bigint();
  await Promise.all(clients.map((c) => new Promise((resolve) => {
    let got = 0;
    c.on('message', () => ++got === per && resolve());
    for (let i = 0; i < per; i++) c.send(PAYLOAD);
  })));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const c of clients) c.terminate();
  return (n * per) / secs;
}

async function sioRun(port) {
  const { io } = require('socket.io-client');
  const n = num('BENCH_SIO_CLIENTS', 20);
  const per = num('BENCH_SIO_MSGS', 2000);
  const clients = await Promise.all(
    Array.from({ length: n }, () => new Promise((r) => {
      const c = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
      c.once('connect', () => r(c));
    }))
  );
  const t0 = process.hrtime.bigint();
  await Promise.all(clients.map((c) => new Promise((resolve) => {
    let got = 0;
    c.on('chat', () => ++got === per && resolve());
    for (let i = 0; i < per; i++) c.emit('chat', PAYLOAD);
  })));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const c of clients) c.close();
  return (n * per) / secs;
}

async function once(kind, mode) {
  const { WebSocket } = require('ws');
  const srv = await startServer(kind, mode);
  let sub;
  let events = 0;
  if (srv.feedPort) {
    sub = new WebSocket(`ws://127.0.0.1:${srv.feedPort}/`, { headers: { Authorization: 'Bearer bench' } });
    sub.on('message', () => events++);
    await new Promise((r) => sub.once('open', r));
  }
  const rate = kind === 'ws' ? await wsRun(srv.port) : await sioRun(srv.port);
  if (sub) sub.terminate();
  srv.child.stdin.end();
  await new Promise((r) => srv.child.once('exit', r));
  return { rate, events };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  for (const kind of ['ws', 'sio']) {
    const rates = { plain: [], instrumented: [] };
    let events = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so that neither always gets the warmer machine.
      const order = round % 2 ? ['instrumented', 'plain'] : ['plain', 'instrumented'];
      for (const mode of order) {
        const r = await once(kind, mode);
        rates[mode].push(r.rate);
        if (mode === 'instrumented') events += r.events;
      }
    }
    const p = median(rates.plain);
    const i = median(rates.instrumented);
    const name = kind === 'ws' ? 'ws' : 'Socket.IO';
    const fmt = (xs) => xs.map((x) => Math.round(x)).join(' ');
    console.log(`${name} plain:        median ${Math.round(p)} msg/s  (rounds: ${fmt(rates.plain)})`);
    console.log(`${name} instrumented: median ${Math.round(i)} msg/s  (rounds: ${fmt(rates.instrumented)}; feed events read: ${events})`);
    console.log(`${name} ratio instrumented/plain: ${((i / p) * 100).toFixed(1)} %`);
  }
}

if (process.argv[2] === '--serve') serve(process.argv[3], process.argv[4]);
else main();
