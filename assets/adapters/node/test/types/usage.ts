// Compiled (not run) by test/types.test.js: every public API, as an app would use it.
import * as http from 'http';
import { WebSocketServer, WebSocket } from 'ws';
import { Server } from 'socket.io';
import { instrument, attach, WscopeFeed, FeedAddress, InstrumentOptions, PROTOCOL, BOOT, DEFAULT_PORT } from 'wscope-node';

const wss = new WebSocketServer({ port: 0 });
const options: InstrumentOptions = {
  token: 'secret',
  host: '127.0.0.1',
  port: 0,
  server: 'chat-1',
  software: 'chat/2.3.1',
  heartbeat: { pingIntervalMs: 30000, pongTimeoutMs: 5000 },
  clientId: (req) => new URL(req.url ?? '/', 'http://x').searchParams.get('user'),
  queueLimit: 10000,
  maxInFlight: 64,
  aggregateMs: 500,
  processEveryMs: 10000,
  recordTimerFires: true,
  history: true,
  historyMs: 600000,
  historyBytes: 64 * 1024 * 1024,
};
const feed: WscopeFeed = instrument(wss, options);
feed.ready.then((a: FeedAddress) => a.port + a.host.length);
wss.on('connection', (ws: WebSocket) => {
  const hb = feed.setInterval(ws, () => ws.ping(), 30000, { kind: 'heartbeat', name: 'hb' });
  const once = feed.setTimeout(ws, (n: number) => n + 1, 1000, { args: [1] });
  ws.on('close', () => {
    feed.clearInterval(hb);
    feed.clearTimeout(once);
  });
  const ok: boolean = feed.appState(ws, 'background');
  void ok;
});
feed.on('subscriber', (info) => info.history);
process.on('SIGTERM', async () => {
  await feed.shutdown({ code: 1001, reason: 'server shutting down', timeoutMs: 5000 });
  process.exit(0);
});

const server = http.createServer();
const noServer = new WebSocketServer({ noServer: true });
instrument(noServer, { httpServer: server, ws: require('ws') });
instrument(server, { wss: noServer });
const io = new Server(server, { pingInterval: 25000 });
const ioFeed = instrument(io, { token: 'secret' });
io.on('connection', (socket) => ioFeed.appState(socket, 'foreground'));
attach(wss, {}).close();

const p: 1 = PROTOCOL;
const d: 9300 = DEFAULT_PORT;
const b: string = BOOT + String(p) + String(d);
void b;

// @ts-expect-error: not an app state
feed.appState({}, 'asleep');
// @ts-expect-error: not a target
instrument(42);
// @ts-expect-error: port is a number
instrument(wss, { port: '9300' });
