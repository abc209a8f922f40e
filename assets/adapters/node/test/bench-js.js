'use strict';
// `node test/bench-js.js`: what wscope-node costs per echoed message in JavaScript alone (a bench,
// not a test). A real `ws` WebSocketServer upgrades a connection whose socket is an in-memory
// stream: frames go in as one socket read of BATCH frames, and what the server writes is
// discarded. With no kernel and no client in the loop, the figure is steady to a few percent,
// unlike the loopback bench (test/bench.js), where the system calls dominate and vary.
// Plain and instrumented (default options, history on) alternate, each in its own process
// (instrumenting patches the `ws` class). Env: BENCH_ROUNDS (5), BENCH_MSGS (1,000,000),
// BENCH_BATCH (frames per socket read, 8).

const crypto = require('crypto');
const { Duplex } = require('stream');
const { spawnSync } = require('child_process');

const num = (name, dflt) => Number(process.env[name] || dflt);
const PAYLOAD = Buffer.from('{"op":"chat","text":"hello there"}');

/** A socket that reads what is pushed into it and discards what it is given to write. */
class MemorySocket extends Duplex {
  _read() {}
  _write(chunk, encoding, cb) {
    cb();
  }
  _writev(chunks, cb) {
    cb();
  }
  setTimeout() {}
  setNoDelay() {}
}

/** A client's text frame: masked, as a client must. */
function clientFrame(payload) {
  const mask = crypto.randomBytes(4);
  const head = Buffer.from([0x81, 0x80 | payload.length]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
  return Buffer.concat([head, mask, body]);
}

function run(mode) {
  const { WebSocketServer } = require('ws');
  const wss = new WebSocketServer({ noServer: true });
  let feed;
  if (mode === 'instrumented') feed = require('..').instrument(wss, { token: 'bench', port: 0 });
  const socket = new MemorySocket();
  socket.remoteAddress = '127.0.0.1';
  socket.remotePort = 50000;
  const req = {
    method: 'GET',
    url: '/',
    headers: {
      host: 'localhost',
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': crypto.randomBytes(16).toString('base64'),
      'sec-websocket-version': '13',
    },
    socket,
  };
  const total = num('BENCH_MSGS', 1000000);
  const batch = num('BENCH_BATCH', 8);
  const chunk = Buffer.concat(Array.from({ length: batch }, () => clientFrame(PAYLOAD)));
  wss.handleUpgrade(req, socket, Buffer.alloc(0), async (ws) => {
    let echoed = 0;
    ws.on('message', (data) => {
      ws.send(data);
      echoed++;
    });
    // `ws` pauses the socket while its receiver works through a read, as it does on a server:
    // the next read waits for the resume.
    const feedReads = async (reads) => {
      for (let i = 0; i < reads; i++) {
        while (socket.isPaused() || socket.readableLength > 0) await new Promise((r) => setImmediate(r));
        // A copy each time: `ws` unmasks a frame in place.
        socket.push(Buffer.from(chunk));
      }
      while (socket.readableLength > 0 || socket.isPaused()) await new Promise((r) => setImmediate(r));
    };
    await new Promise((r) => setImmediate(r));
    await feedReads(20000 / batch);
    echoed = 0;
    const t0 = process.hrtime.bigint();
    await feedReads(total / batch);
    const ns = Number(process.hrtime.bigint() - t0);
    process.stdout.write(`${JSON.stringify({ nsPerMsg: ns / echoed, echoed })}\n`);
    if (feed) feed.close();
    process.exit(0);
  });
}

function main() {
  const rounds = num('BENCH_ROUNDS', 5);
  const ns = { plain: [], instrumented: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? ['instrumented', 'plain'] : ['plain', 'instrumented'];
    for (const mode of order) {
      const r = spawnSync(process.execPath, [__filename, '--run', mode], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      if (r.status !== 0) throw new Error(`${mode} round failed`);
      ns[mode].push(JSON.parse(r.stdout).nsPerMsg);
    }
  }
  const least = (xs) => Math.min(...xs);
  const fmt = (xs) => xs.map((x) => x.toFixed(0)).join(' ');
  console.log(`ws echo in memory, plain:        ns per echoed message ${fmt(ns.plain)}`);
  console.log(`ws echo in memory, instrumented: ns per echoed message ${fmt(ns.instrumented)}`);
  const added = least(ns.instrumented) - least(ns.plain);
  console.log(
    `ws echo in memory: least ${least(ns.plain).toFixed(0)} vs ${least(ns.instrumented).toFixed(0)} ns per message: ` +
      `+${added.toFixed(0)} ns (+${((added / least(ns.plain)) * 100).toFixed(1)} %)`
  );
}

if (process.argv[2] === '--run') run(process.argv[3]);
else main();
