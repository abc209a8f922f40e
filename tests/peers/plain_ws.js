// A plain Node.js `ws` server and its clients, with no wscope code: the peer whose traffic
// the capture tests record. It plays a fixed script and prints, as one JSON line, what really
// happened on each connection (the truth the capture is checked against).
//
//   node plain_ws.js PORT [CLIENT_PORT]
//
// With CLIENT_PORT the clients connect there (a proxy in front of PORT), and one more client
// asks for /bad/, where the proxy drops the Upgrade header.
'use strict';
const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[2]);
const clientPort = Number(process.argv[3] || port);
const truth = { opens: 0, rejected: 0, closes: [] };
const wss = new WebSocketServer({
  port,
  host: '127.0.0.1',
  verifyClient: (info, cb) => {
    if (info.req.url.includes('deny=1')) {
      truth.rejected += 1;
      return cb(false, 403, 'Forbidden');
    }
    cb(true);
  },
});

wss.on('connection', (ws, req) => {
  truth.opens += 1;
  const name = new URL(req.url, 'http://x').searchParams.get('name');
  // The server's heartbeat: a ping every 150 ms.
  const hb = setInterval(() => ws.ping('hb'), 150);
  ws.on('message', (data, isBinary) => {
    const text = data.toString();
    if (text === 'kick me') return ws.close(4001, 'kicked');
    if (text === 'drop me') return ws.terminate();
    ws.send(data, { binary: isBinary });
  });
  ws.on('close', (code) => {
    clearInterval(hb);
    truth.closes.push({ name, code });
  });
});

function client(name, script, prefix = '') {
  return new Promise((resolve) => {
    const c = new WebSocket(`ws://127.0.0.1:${clientPort}${prefix}/ws?name=${name}`, {
      headers: { 'User-Agent': `capture-test/${name}` },
    });
    c.on('open', () => script(c));
    c.on('close', () => resolve());
    c.on('error', () => resolve());
    c.on('unexpected-response', (req, res) => {
      res.resume();
      // A proxy would keep the refused request's connection alive for a minute.
      req.destroy();
      resolve();
    });
  });
}

const wait = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  await new Promise((r) => wss.on('listening', r));
  await Promise.all([
    // Says goodbye itself after some traffic: 1000 from the client.
    client('polite', async (c) => {
      for (let i = 0; i < 5; i++) c.send(`hello ${i}`);
      c.send(Buffer.alloc(300, 1)); // 16-bit length
      c.send(Buffer.alloc(70000, 2)); // 64-bit length
      await wait(400);
      c.close(1000, 'bye');
    }),
    // Kicked by the server: 4001, initiated by the server.
    client('kicked', async (c) => {
      c.send('first');
      await wait(200);
      c.send('kick me');
    }),
    // The server drops the transport: no close frame (1006).
    client('dropped', async (c) => {
      await wait(350);
      c.send('drop me');
    }),
    // The client process "dies": no close frame (1006).
    client('vanished', async (c) => {
      c.send('x'.repeat(200));
      await wait(500);
      c.terminate();
    }),
    // A fragmented message: three frames, one message.
    client('fragments', async (c) => {
      c.send('part1-', { fin: false });
      c.send('part2-', { fin: false });
      c.send('part3', { fin: true });
      await wait(300);
      c.close(1001, 'going away');
    }),
    // Refused at the upgrade: 403.
    client('denied&deny=1', () => {}),
    // Through a proxy that drops the Upgrade header: the server answers 426.
    ...(clientPort !== port ? [client('misrouted', () => {}, '/bad')] : []),
  ]);
  await wait(200);
  wss.close();
  // Exit once said: nothing left open may keep the process waiting.
  process.stdout.write(JSON.stringify(truth) + '\n', () => process.exit(0));
}

main();
