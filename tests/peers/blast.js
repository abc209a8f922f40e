// Load for the live capture bench: a plain `ws` server and CLIENTS clients sending RATE
// frames per second in all for SECONDS, then closing. Prints {"sent": N} at the end.
//
//   node blast.js PORT RATE SECONDS [CLIENTS]
'use strict';
const { WebSocketServer, WebSocket } = require('ws');

const [port, rate, seconds, clients = 50] = process.argv.slice(2).map(Number);
const wss = new WebSocketServer({ port, host: '127.0.0.1' });
wss.on('connection', (ws) => {
  const hb = setInterval(() => ws.ping(), 1000);
  ws.on('close', () => clearInterval(hb));
});

let sent = 0;
const perTick = rate / clients / 100; // every 10 ms
wss.on('listening', async () => {
  const conns = await Promise.all(
    Array.from({ length: clients }, () => new Promise((resolve) => {
      const c = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      c.on('open', () => resolve(c));
    })),
  );
  const started = Date.now();
  let owed = 0;
  const tick = setInterval(() => {
    const due = ((Date.now() - started) / 10) * perTick * clients;
    for (; owed < due; owed++) {
      conns[owed % clients].send('m'.repeat(40));
      sent++;
    }
    if (Date.now() - started >= seconds * 1000) {
      clearInterval(tick);
      conns.forEach((c) => c.close(1000, 'done'));
      setTimeout(() => {
        process.stdout.write(JSON.stringify({ sent }) + '\n', () => process.exit(0));
      }, 500);
    }
  }, 10);
});
