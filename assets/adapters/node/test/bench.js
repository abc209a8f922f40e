'use strict';
// `node test/bench.js`: what the adapter costs a busy `ws` server.
// An echo server takes 200,000 small messages from 50 clients and echoes each, first plain,
// then instrumented with one wscope subscriber reading the feed. Best of three runs each.

const { WebSocket, WebSocketServer } = require('ws');
const wscope = require('../wscope-adapter');

const CLIENTS = 50;
const PER_CLIENT = 4000;

async function run(instrumented) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  let feed;
  let sub;
  let feedEvents = 0;
  if (instrumented) {
    feed = wscope.attach(wss, { token: 'bench', port: 0, processEveryMs: 0 });
    const addr = await feed.ready;
    sub = new WebSocket(`ws://127.0.0.1:${addr.port}/`, { headers: { Authorization: 'Bearer bench' } });
    sub.on('message', () => feedEvents++);
    await new Promise((r) => sub.once('open', r));
  }
  wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
  const port = wss.address().port;
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, () => new Promise((resolve) => {
      const c = new WebSocket(`ws://127.0.0.1:${port}/`);
      c.once('open', () => resolve(c));
    }))
  );
  const started = process.hrtime.bigint();
  await Promise.all(clients.map((c) => new Promise((resolve) => {
    let got = 0;
    c.on('message', () => { if (++got === PER_CLIENT) resolve(); });
    for (let i = 0; i < PER_CLIENT; i++) c.send('{"op":"chat","text":"hello there"}');
  })));
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  for (const c of clients) c.terminate();
  if (sub) sub.terminate();
  if (feed) await feed.close();
  await new Promise((r) => wss.close(r));
  return { secs, feedEvents };
}

(async () => {
  const total = CLIENTS * PER_CLIENT;
  const results = {};
  for (const instrumented of [false, true, false, true, false, true]) {
    const r = await run(instrumented);
    const key = instrumented ? 'instrumented' : 'plain';
    if (!results[key] || r.secs < results[key].secs) results[key] = r;
  }
  for (const key of ['plain', 'instrumented']) {
    const r = results[key];
    console.log(`${key}: ${total} echoes in ${r.secs.toFixed(3)} s = ${Math.round(total / r.secs)} msg/s` +
      (key === 'instrumented' ? ` (feed events sent: ${r.feedEvents})` : ''));
  }
  const overhead = (results.instrumented.secs / results.plain.secs - 1) * 100;
  console.log(`adapter overhead: ${overhead.toFixed(1)} %`);
})();
