'use strict';
// `node test/bench.js`: what wscope-node costs a busy server (a bench, not a test).
// Side by side in one run, alternating: a plain `ws` echo server and the same server
// instrumented (default options, history on) with one wscope subscriber reading the feed;
// then the same for a `ws` server that parses and re-serialises each message as JSON (what
// an app does at the least), then for Socket.IO. Each server runs in its own process; the clients and the
// subscriber run in this one. Prints the messages/s of each round, the median and best of
// each and their ratios, and the server's CPU time per echoed message.
// Env: BENCH_ROUNDS (20: fewer cannot tell 5 % apart on a shared machine), BENCH_KINDS
// (ws,ws-json,sio), BENCH_WS_CLIENTS (50), BENCH_WS_MSGS (2000 per client), BENCH_SIO_CLIENTS
// (20), BENCH_SIO_MSGS (2000 per client), BENCH_PIN=0 (no cores pinned); to take the cost
// apart, BENCH_NO_SUB=1 (no subscriber) and BENCH_NO_HISTORY=1
// (the ws servers keep no history).

const http = require('http');
const readline = require('readline');
const os = require('os');
const { spawn, spawnSync } = require('child_process');

const num = (name, dflt) => Number(process.env[name] || dflt);
const ROUNDS = num('BENCH_ROUNDS', 20);
const PAYLOAD = '{"op":"chat","text":"hello there"}';

// ---- the server process ---------------------------------------------------------------------

async function serve(kind, mode) {
  const wscope = require('..');
  let port;
  let feed;
  if (kind === 'ws' || kind === 'ws-json') {
    const { WebSocketServer } = require('ws');
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    if (kind === 'ws') wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
    else wss.on('connection', (ws) => ws.on('message', (d) => ws.send(JSON.stringify(JSON.parse(d)))));
    port = wss.address().port;
    if (mode === 'instrumented') feed = wscope.instrument(wss, { token: 'bench', port: 0, ...(process.env.BENCH_NO_HISTORY ? { history: false } : {}) });
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
  // The parent says when the clients start and when they are done: the server's CPU time in
  // between, per message, is steadier than the rate on a machine where the clients compete.
  let cpu0;
  readline.createInterface({ input: process.stdin }).on('line', (l) => {
    if (l === 'start') cpu0 = process.cpuUsage();
    else if (l === 'stop') {
      const d = process.cpuUsage(cpu0);
      process.stdout.write(`${JSON.stringify({ userUs: d.user, sysUs: d.system })}\n`, () => process.exit(0));
    }
  });
}

// ---- the clients ----------------------------------------------------------------------------

async function startServer(kind, mode) {
  const extra = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : [];
  const args = [...extra, __filename, '--serve', kind, mode];
  // The server on core 0, the clients (this process) on core 1: otherwise the scheduler mixes
  // them and the rounds' noise is larger than what is measured.
  const child = PINNED
    ? spawn('taskset', ['-c', '0', process.execPath, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const next = () => new Promise((r) => lines.once('line', (l) => r(JSON.parse(l))));
  return { child, next, ...(await next()) };
}

async function wsRun(port, srv) {
  const { WebSocket } = require('ws');
  const n = num('BENCH_WS_CLIENTS', 50);
  const per = num('BENCH_WS_MSGS', 2000);
  const clients = await Promise.all(
    Array.from({ length: n }, () => new Promise((r) => {
      const c = new WebSocket(`ws://127.0.0.1:${port}/`);
      c.once('open', () => r(c));
    }))
  );
  srv.child.stdin.write('start\n');
  const t0 = process.hrtime.bigint();
  await Promise.all(clients.map((c) => new Promise((resolve) => {
    let got = 0;
    c.on('message', () => ++got === per && resolve());
    for (let i = 0; i < per; i++) c.send(PAYLOAD);
  })));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const c of clients) c.terminate();
  return { rate: (n * per) / secs, messages: n * per };
}

async function sioRun(port, srv) {
  const { io } = require('socket.io-client');
  const n = num('BENCH_SIO_CLIENTS', 20);
  const per = num('BENCH_SIO_MSGS', 2000);
  const clients = await Promise.all(
    Array.from({ length: n }, () => new Promise((r) => {
      const c = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
      c.once('connect', () => r(c));
    }))
  );
  srv.child.stdin.write('start\n');
  const t0 = process.hrtime.bigint();
  await Promise.all(clients.map((c) => new Promise((resolve) => {
    let got = 0;
    c.on('chat', () => ++got === per && resolve());
    for (let i = 0; i < per; i++) c.emit('chat', PAYLOAD);
  })));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const c of clients) c.close();
  return { rate: (n * per) / secs, messages: n * per };
}

async function once(kind, mode) {
  const { WebSocket } = require('ws');
  const srv = await startServer(kind, mode);
  let sub;
  let events = 0;
  if (srv.feedPort && !process.env.BENCH_NO_SUB) {
    sub = new WebSocket(`ws://127.0.0.1:${srv.feedPort}/`, { headers: { Authorization: 'Bearer bench' } });
    sub.on('message', () => events++);
    await new Promise((r) => sub.once('open', r));
  }
  const { rate, messages } = kind === 'sio' ? await sioRun(srv.port, srv) : await wsRun(srv.port, srv);
  const cpu = srv.next();
  srv.child.stdin.write('stop\n');
  const { userUs, sysUs } = await cpu;
  if (sub) sub.terminate();
  await new Promise((r) => srv.child.once('exit', r));
  return { rate, events, userPerMsg: userUs / messages, sysPerMsg: sysUs / messages };
}

/** Pins this process to core 1 (the server gets core 0) where there are two cores and taskset. */
function pin() {
  if (process.env.BENCH_PIN === '0' || os.availableParallelism() < 2) return false;
  const r = spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  return r.status === 0;
}
const PINNED = process.argv[2] !== '--serve' && pin();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  for (const kind of (process.env.BENCH_KINDS || 'ws,ws-json,sio').split(',')) {
    const rates = { plain: [], instrumented: [] };
    const user = { plain: [], instrumented: [] };
    const sys = { plain: [], instrumented: [] };
    let events = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so that neither always gets the warmer machine.
      const order = round % 2 ? ['instrumented', 'plain'] : ['plain', 'instrumented'];
      for (const mode of order) {
        const r = await once(kind, mode);
        rates[mode].push(r.rate);
        user[mode].push(r.userPerMsg);
        sys[mode].push(r.sysPerMsg);
        if (mode === 'instrumented') events += r.events;
      }
    }
    // The median, and the best round: on a shared machine interference only ever slows a round,
    // so the best is the steadier estimate of what the instrumentation itself costs.
    const name = { ws: 'ws echo', 'ws-json': 'ws JSON echo', sio: 'Socket.IO echo' }[kind];
    const fmt = (xs) => xs.map((x) => Math.round(x)).join(' ');
    const best = (xs) => Math.max(...xs);
    const least = (xs) => Math.min(...xs);
    const pct = (a, b) => `${((a / b) * 100).toFixed(1)} %`;
    console.log(`${name} plain:        rounds ${fmt(rates.plain)} msg/s`);
    console.log(`${name} instrumented: rounds ${fmt(rates.instrumented)} msg/s (feed events read: ${events})`);
    console.log(
      `${name}: median ${Math.round(median(rates.plain))} vs ${Math.round(median(rates.instrumented))} msg/s = ${pct(median(rates.instrumented), median(rates.plain))}; ` +
        `best ${Math.round(best(rates.plain))} vs ${Math.round(best(rates.instrumented))} msg/s = ${pct(best(rates.instrumented), best(rates.plain))}`
    );
    // Each round's pair, run back to back, shares the machine's mood of the moment: the median of
    // the pairs' ratios is steadier than the ratio of the medians.
    const paired = median(rates.instrumented.map((r, i) => r / rates.plain[i]));
    console.log(`${name}: median of the rounds' paired ratios ${(paired * 100).toFixed(1)} %`);
    const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} %`;
    const cpuLine = (what, xs) =>
      `${name}: server ${what} CPU per echoed message, least: plain ${least(xs.plain).toFixed(2)} us, ` +
      `instrumented ${least(xs.instrumented).toFixed(2)} us (${signed(((least(xs.instrumented) - least(xs.plain)) / least(xs.plain)) * 100)})`;
    console.log(cpuLine('user', user));
    console.log(cpuLine('system', sys));
  }
}

if (process.argv[2] === '--serve') serve(process.argv[3], process.argv[4]);
else main();
