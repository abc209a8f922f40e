'use strict';
// `node test/bench.js`: what wscope-node costs a busy server (a bench, not a test).
//
// Two servers run side by side, each in its own process on the same core: a plain one and the
// same one instrumented (default options, history on) with one wscope subscriber reading its
// feed. Both are warmed up; then bursts of messages go to one and then the other, alternating
// which goes first, and each pair of bursts gives a ratio; then both are replaced by fresh
// processes, BENCH_SESSIONS times. Adjacent bursts share the machine's mood of the moment, so
// the median of those ratios is steady where the rate of any one burst is not (this VM's rates
// vary by ±20 % from one second to the next); fresh processes, because a process's JIT outcome
// is part of the cost (one pair can sit at 94 % and the next at 101 %).
//
// Kinds: a `ws` echo server; the same parsing and re-serialising each message as JSON (what an
// app does at the least); a Socket.IO echo server. The `ws` clients are raw sockets (an upgrade,
// then pre-masked frames written at once and the echoed bytes counted, unparsed): a client made
// with `ws` costs as much CPU per message as the server, so one core of them is the bottleneck
// half the time and the figure measures the clients (BENCH_CLIENT=ws uses them anyway, and
// socket.io-client for Socket.IO). The Socket.IO clients are raw as well (Engine.IO's
// handshake, pre-masked events, the heartbeat answered, only frame headers read).
//
// Prints the median of the paired ratios of messages/s, the median rates, and the servers' CPU
// per echoed message (user, system), garbage collections and page faults, and how busy the
// servers and the clients were (a server under 95 % was not the bottleneck).
//
// Env: BENCH_SESSIONS (6 pairs of processes), BENCH_ROUNDS (30 pairs of bursts each), BENCH_KINDS (ws,ws-json,sio), BENCH_WS_CLIENTS (50),
// BENCH_WS_MSGS (400 per client per burst), BENCH_SIO_CLIENTS (20), BENCH_SIO_MSGS (300),
// BENCH_CLIENT=ws, BENCH_PIN=0 (no cores pinned), BENCH_AA=1 (both servers plain: shows the
// bench's own bias, which should be ~100 %); to take the cost apart, BENCH_NO_SUB=1 (no
// subscriber), BENCH_NO_HISTORY=1 (no history); BENCH_NODE_ARGS (the servers' node options),
// BENCH_SERVER_WRAP (a command the servers run under, MODE replaced by the mode: a profiler).

const crypto = require('crypto');
const http = require('http');
const net = require('net');
const readline = require('readline');
const os = require('os');
const { spawn, spawnSync } = require('child_process');
const { PerformanceObserver } = require('perf_hooks');

const num = (name, dflt) => Number(process.env[name] || dflt);
const SESSIONS = num('BENCH_SESSIONS', 6);
const ROUNDS = num('BENCH_ROUNDS', 30);
const WARMUP_BURSTS = 5;
const PAYLOAD = '{"op":"chat","text":"hello there"}';

// ---- the server process ---------------------------------------------------------------------

async function serve(kind, mode) {
  const wscope = require('..');
  const instrumented = mode === 'instrumented';
  let port;
  let feed;
  if (kind === 'ws' || kind === 'ws-json') {
    const { WebSocketServer } = require('ws');
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    if (kind === 'ws') wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
    else wss.on('connection', (ws) => ws.on('message', (d) => ws.send(JSON.stringify(JSON.parse(d)))));
    port = wss.address().port;
    if (instrumented) feed = wscope.instrument(wss, { token: 'bench', port: 0, ...(process.env.BENCH_NO_HISTORY ? { history: false } : {}) });
  } else {
    const { Server } = require('socket.io');
    const server = http.createServer();
    const io = new Server(server);
    io.on('connection', (socket) => socket.on('chat', (m) => socket.emit('chat', m)));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    port = server.address().port;
    if (instrumented) feed = wscope.instrument(io, { token: 'bench', port: 0, ...(process.env.BENCH_NO_HISTORY ? { history: false } : {}) });
  }
  const feedPort = feed ? (await feed.ready).port : null;
  const gc = { count: 0, ms: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.ms += e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
  say({ port, feedPort });
  // The parent asks for this process's counters before and after each burst.
  readline.createInterface({ input: process.stdin }).on('line', (l) => {
    if (l === 'usage') {
      const cpu = process.cpuUsage();
      const ru = process.resourceUsage();
      say({ userUs: cpu.user, sysUs: cpu.system, sleeps: ru.voluntaryContextSwitches, faults: ru.minorPageFault, gcs: gc.count, gcMs: gc.ms });
    } else if (l === 'exit') process.exit(0);
  });
}

// ---- this process: servers, clients, subscriber ---------------------------------------------

/** Pins this process to core 1 (the servers get core 0) where there are two cores and taskset. */
function pin() {
  if (process.env.BENCH_PIN === '0' || os.availableParallelism() < 2) return false;
  return spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' }).status === 0;
}
const PINNED = process.argv[2] !== '--serve' && pin();

async function startServer(kind, mode) {
  const extra = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : [];
  const wrap = process.env.BENCH_SERVER_WRAP ? process.env.BENCH_SERVER_WRAP.replace(/MODE/g, mode).split(' ') : [];
  const cmd = [...(PINNED ? ['taskset', '-c', '0'] : []), ...wrap, process.execPath, ...extra, __filename, '--serve', kind, mode];
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  // The server's own lines are JSON; anything else (a V8 trace asked for in BENCH_NODE_ARGS)
  // goes to stderr.
  const waiting = [];
  lines.on('line', (l) => (l.startsWith('{') && waiting.length ? waiting.shift()(JSON.parse(l)) : process.stderr.write(`${l}\n`)));
  const next = () => new Promise((r) => waiting.push(r));
  const usage = () => {
    child.stdin.write('usage\n');
    return next();
  };
  const stop = () => {
    child.stdin.write('exit\n');
    return new Promise((r) => child.once('exit', r));
  };
  return { child, usage, stop, ...(await next()) };
}

/** A client's masked text frame, as a client must send it. */
function clientFrame(payload) {
  const mask = crypto.randomBytes(4);
  const body = Buffer.from(payload, 'utf8');
  const head = Buffer.from([0x81, 0x80 | body.length, ...mask]);
  return Buffer.concat([head, body.map((b, i) => b ^ mask[i % 4])]);
}

function upgradeRequest(port, path) {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

/** A raw socket upgraded to a WebSocket at `path`: resolves with it once the 101 came;
 *  `onData(chunk, sock)` gets every byte after the response's head. */
function rawUpgraded(port, path, onData) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    sock.once('error', reject);
    let head = '';
    const onHead = (chunk) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.removeListener('data', onHead);
      if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`no upgrade: ${head.split('\r\n')[0]}`));
      sock.on('data', (c) => onData(c, sock));
      resolve(sock);
      if (head.length > end + 4) onData(Buffer.from(head.slice(end + 4), 'latin1'), sock);
    };
    sock.on('data', onHead);
    sock.write(upgradeRequest(port, path));
  });
}

/** A raw WebSocket client: per burst, writes its frames at once and counts the echoed bytes
 *  (each echo is a 2-byte header and the payload) without parsing them. */
async function rawClient(port, per) {
  const frames = Buffer.concat(Array.from({ length: per }, () => clientFrame(PAYLOAD)));
  const echoBytes = per * (2 + Buffer.byteLength(PAYLOAD));
  let got = 0;
  let done = null;
  const sock = await rawUpgraded(port, '/', (chunk) => {
    got += chunk.length;
    if (got >= echoBytes) {
      got -= echoBytes;
      done();
    }
  });
  return {
    burst: () => new Promise((r) => {
      done = r;
      sock.write(frames);
    }),
    close: () => sock.destroy(),
  };
}

/** A client made with a library (`ws`, socket.io-client), which parses every echo. */
function libraryClient(per, c, { open, message, send, close }) {
  return new Promise((resolve) => {
    let got = 0;
    let done = null;
    c.on(message, () => {
      if (++got === per) {
        got = 0;
        done();
      }
    });
    c.once(open, () =>
      resolve({
        burst: () => new Promise((r) => {
          done = r;
          for (let i = 0; i < per; i++) send();
        }),
        close,
      })
    );
  });
}

function wsClient(port, per) {
  const { WebSocket } = require('ws');
  const c = new WebSocket(`ws://127.0.0.1:${port}/`);
  return libraryClient(per, c, { open: 'open', message: 'message', send: () => c.send(PAYLOAD), close: () => c.terminate() });
}

function sioClient(port, per) {
  const { io } = require('socket.io-client');
  const c = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
  return libraryClient(per, c, { open: 'connect', message: 'chat', send: () => c.emit('chat', PAYLOAD), close: () => c.close() });
}

/** A raw Socket.IO client over the WebSocket transport: Engine.IO's open, then Socket.IO's
 *  connect to `/`, then per burst its `chat` events written at once; it answers the server's
 *  heartbeat pings and reads each frame's header only. */
async function rawSioClient(port, per) {
  const event = clientFrame(`42${JSON.stringify(['chat', PAYLOAD])}`);
  const events = Buffer.concat(Array.from({ length: per }, () => event));
  const connect = clientFrame('40');
  const pong = clientFrame('3');
  let got = 0;
  let done = null;
  let connected;
  const ready = new Promise((r) => (connected = r));
  const onFrame = (payload, sock) => {
    // Engine.IO packet types: 0 open, 2 ping, 4 message (Socket.IO: 40 connect, 42 event).
    if (payload[0] === 0x34 && payload[1] === 0x32) {
      if (++got === per) {
        got = 0;
        done();
      }
    } else if (payload[0] === 0x32) sock.write(pong);
    else if (payload[0] === 0x30) sock.write(connect);
    else if (payload[0] === 0x34 && payload[1] === 0x30) connected();
  };
  let pending = Buffer.alloc(0);
  const sock = await rawUpgraded(port, '/socket.io/?EIO=4&transport=websocket', (chunk, s) => {
    const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    for (;;) {
      if (buf.length - at < 2) break;
      let len = buf[at + 1] & 0x7f;
      let start = at + 2;
      if (len === 126) {
        if (buf.length - at < 4) break;
        len = buf.readUInt16BE(at + 2);
        start = at + 4;
      } else if (len === 127) {
        if (buf.length - at < 10) break;
        len = Number(buf.readBigUInt64BE(at + 2));
        start = at + 10;
      }
      if (buf.length < start + len) break;
      onFrame(buf.subarray(start, start + len), s);
      at = start + len;
    }
    pending = at < buf.length ? buf.subarray(at) : Buffer.alloc(0);
  });
  await ready;
  return {
    burst: () => new Promise((r) => {
      done = r;
      sock.write(events);
    }),
    close: () => sock.destroy(),
  };
}

async function connectClients(kind, port) {
  const sio = kind === 'sio';
  const n = sio ? num('BENCH_SIO_CLIENTS', 20) : num('BENCH_WS_CLIENTS', 50);
  const per = sio ? num('BENCH_SIO_MSGS', 300) : num('BENCH_WS_MSGS', 400);
  const library = process.env.BENCH_CLIENT === 'ws';
  const make = sio ? (library ? sioClient : rawSioClient) : library ? wsClient : rawClient;
  const clients = await Promise.all(Array.from({ length: n }, () => make(port, per)));
  return { clients, messages: n * per };
}

/** One burst: every client sends its messages and waits for their echoes. */
async function burst(side) {
  const before = await side.server.usage();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(side.clients.map((c) => c.burst()));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const after = await side.server.usage();
  const n = side.messages;
  const userPerMsg = (after.userUs - before.userUs) / n;
  const sysPerMsg = (after.sysUs - before.sysUs) / n;
  return {
    rate: n / secs,
    userPerMsg,
    sysPerMsg,
    // Both counters are read between bursts, so this is CPU over the burst's wall time.
    serverBusy: ((userPerMsg + sysPerMsg) * n) / 1e6 / secs,
    clientBusy: (cpu.user + cpu.system) / 1e6 / secs,
    gcsPerK: ((after.gcs - before.gcs) * 1000) / n,
    gcUsPerMsg: ((after.gcMs - before.gcMs) * 1000) / n,
    faultsPerK: ((after.faults - before.faults) * 1000) / n,
    sleepsPerK: ((after.sleeps - before.sleeps) * 1000) / n,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One pair of fresh server processes: warmed up, then ROUNDS pairs of bursts. */
async function session(kind, modes, counts) {
  const { WebSocket } = require('ws');
  const sides = {};
  for (const mode of modes) {
    const server = await startServer(kind, mode);
    let sub = null;
    if (server.feedPort && !process.env.BENCH_NO_SUB) {
      sub = new WebSocket(`ws://127.0.0.1:${server.feedPort}/`, { headers: { Authorization: 'Bearer bench' } });
      sub.on('message', () => counts.events++);
      await new Promise((r) => sub.once('open', r));
    }
    sides[mode] = { server, sub, ...(await connectClients(kind, server.port)), results: [] };
  }
  for (let i = 0; i < WARMUP_BURSTS; i++) for (const mode of modes) await burst(sides[mode]);
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first, so that neither always gets the warmer machine.
    for (const mode of round % 2 ? [...modes].reverse() : modes) sides[mode].results.push(await burst(sides[mode]));
  }
  for (const mode of modes) {
    for (const c of sides[mode].clients) c.close();
    if (sides[mode].sub) sides[mode].sub.terminate();
    await sides[mode].server.stop();
  }
  return modes.map((m) => sides[m].results);
}

async function compare(kind) {
  const modes = process.env.BENCH_AA ? ['plain', 'plain-too'] : ['plain', 'instrumented'];
  const counts = { events: 0 };
  const a = [];
  const b = [];
  const sessionRatios = [];
  for (let i = 0; i < SESSIONS; i++) {
    const [x, y] = await session(kind, modes, counts);
    a.push(...x);
    b.push(...y);
    sessionRatios.push(median(y.map((r, j) => r.rate / x[j].rate)));
  }
  const events = counts.events;
  const name = { ws: 'ws echo', 'ws-json': 'ws JSON echo', sio: 'Socket.IO echo' }[kind];
  const med = (rs, key) => median(rs.map((r) => r[key]));
  const ratios = b.map((r, i) => r.rate / a[i].rate).sort((x, y) => x - y);
  const paired = median(ratios);
  const quartile = (q) => ratios[Math.floor((ratios.length - 1) * q)];
  const pct = (x) => `${(x * 100).toFixed(1)} %`;
  console.log(`${name}: ${modes[1]}/${modes[0]} messages/s, median of ${ratios.length} paired bursts: ${pct(paired)}` +
    ` (middle half ${pct(quartile(0.25))} to ${pct(quartile(0.75))}; feed events read: ${events})`);
  console.log(`  each pair of processes, median: ${sessionRatios.map(pct).join(', ')}`);
  const row = (label, key, digits, unit = '') =>
    console.log(`  ${label.padEnd(34)} ${modes[0]} ${med(a, key).toFixed(digits)}${unit}, ${modes[1]} ${med(b, key).toFixed(digits)}${unit}`);
  row('median messages/s', 'rate', 0);
  row('server user CPU per message', 'userPerMsg', 2, ' us');
  row('server system CPU per message', 'sysPerMsg', 2, ' us');
  row('server GC time per message', 'gcUsPerMsg', 3, ' us');
  row('server collections per 1000 messages', 'gcsPerK', 2);
  row('server page faults per 1000 messages', 'faultsPerK', 1);
  row('server sleeps per 1000 messages', 'sleepsPerK', 1);
  row('server CPU busy', 'serverBusy', 2);
  row('clients CPU busy', 'clientBusy', 2);
}

async function main() {
  for (const kind of (process.env.BENCH_KINDS || 'ws,ws-json,sio').split(',')) await compare(kind);
}

if (process.argv[2] === '--serve') serve(process.argv[3], process.argv[4]);
else main();
