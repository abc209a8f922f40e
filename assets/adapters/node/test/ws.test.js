'use strict';
// A real `ws` server (the version under test: see helpers.js), instrumented in each of the three
// ways `ws` is set up, with real clients that close in every way, and a real subscriber.

const { test } = require('node:test');
const assert = require('assert/strict');
const http = require('http');
const net = require('net');
const wscope = require('..');
const { WS, WS_VERSION, TOKEN, sleep, waitFor, Recorder, openClient } = require('./helpers');

const ID = /^[0-9a-z]{8}-\d+$/;
const base = { token: TOKEN, port: 0, processEveryMs: 0, aggregateMs: 50 };

async function appServer(mode) {
  if (mode === 'standalone') {
    const wss = new WS.WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1024 });
    await new Promise((r) => wss.once('listening', r));
    return { wss, target: wss, port: wss.address().port, extra: {}, close: () => wss.close() };
  }
  const server = http.createServer((req, res) => res.writeHead(426).end('Upgrade Required'));
  const wss = new WS.WebSocketServer({ noServer: true, maxPayload: 1024 });
  server.on('upgrade', (req, socket, head) => {
    if (req.url.includes('intruder')) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  // `http`: the http.Server alone is instrumented; the feed finds the WebSockets through the
  // symbol `ws` puts on the upgraded socket, and (timer started in the connection handler,
  // before that) through `ws._socket`.
  const target = mode === 'noServer' ? wss : server;
  const extra = mode === 'noServer' ? { httpServer: server } : { ws: WS };
  const close = () => {
    for (const c of wss.clients) c.terminate();
    server.close();
  };
  return { wss, target, port: server.address().port, extra, close };
}

function rawUpgrade(port, key) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () =>
      sock.write(
        'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\nUser-Agent: okhttp/4.12\r\n\r\n`
      )
    );
    sock.on('data', () => sock.destroy());
    sock.on('close', resolve);
    sock.on('error', resolve);
  });
}

for (const mode of ['standalone', 'noServer', 'http']) {
  test(`ws ${WS_VERSION}, ${mode}: opens, messages, every kind of close, errors, rejections`, async () => {
    const app = await appServer(mode);
    const feed = wscope.instrument(app.target, {
      ...base,
      ...app.extra,
      server: 'ws-test',
      clientId: (req) => new URL(req.url, 'http://x').searchParams.get('user'),
    });
    app.wss.on('connection', (ws) => {
      const t = feed.setInterval(ws, () => {}, 10000, { kind: 'heartbeat', name: 'hb' });
      ws.on('message', (d) => {
        const text = d.toString();
        if (text === 'close-me') ws.close(4000, 'server says bye');
        else if (text === 'terminate-me') ws.terminate();
        else ws.send(`echo:${text}`);
      });
      ws.on('close', () => feed.clearInterval(t));
      ws.on('error', () => {});
    });
    const rec = await Recorder.at(feed);
    const url = (user) => `ws://127.0.0.1:${app.port}/ws?user=${user}&token=secret`;
    const headers = { headers: { 'User-Agent': 'Mozilla/5.0 "quoted" \\ \u00e9', 'X-Forwarded-For': '198.51.100.23' } };
    const users = ['clean', 'cut', 'close-me', 'terminate-me', 'bad-frame', 'too-big'];
    const c = {};
    for (const u of users) {
      c[u] = await openClient(url(u), headers);
      c[u].on('error', () => {});
    }
    c.clean.send('hello');
    c.clean.send('there');
    await waitFor(() => feed.conns.size === users.length, 2000, 'all tracked');
    await sleep(100);
    c.clean.close(1000, 'bye ✓');
    c.cut._socket.destroy();
    c['close-me'].send('close-me');
    c['terminate-me'].send('terminate-me');
    c['bad-frame']._socket.write(Buffer.from([0xa1, 0x80, 1, 2, 3, 4])); // RSV2 set
    c['too-big'].send('x'.repeat(4096));
    await rawUpgrade(app.port, 'not-a-valid-key');
    if (mode !== 'standalone') await openClient(url('intruder'), headers).catch(() => {});
    await rec.waitFor((ev) => ev.filter((e) => e.type === 'close').length === users.length, 5000, 'closes');
    await rec.waitFor((ev) => ev.some((e) => e.type === 'upgrade_rejected' && e.status === 400), 3000, 'rejection');

    assert.equal(rec.events[0].type, 'hello');
    assert.equal(rec.events[0].server, 'ws-test');
    const byUser = new Map();
    for (const o of rec.of('open')) {
      assert.match(o.conn, ID);
      assert.ok(o.conn.startsWith(`${wscope.BOOT}-`));
      assert.equal(o.path, '/ws', 'no query string (tokens live there)');
      assert.equal(o.user_agent, 'Mozilla/5.0 "quoted" \\ \u00e9', 'as sent: JSON escapes it, nothing else');
      assert.equal(o.forwarded_for, '198.51.100.23');
      assert.match(o.remote, /^127\.0\.0\.1:\d+$/);
      byUser.set(o.conn, o.client);
    }
    assert.deepEqual([...byUser.values()].sort(), [...users].sort());
    const closes = Object.fromEntries(rec.of('close').map((e) => [byUser.get(e.conn), [e.code, e.initiator, e.reason]]));
    assert.deepEqual(closes, {
      clean: [1000, 'client', 'bye ✓'],
      cut: [1006, 'none', ''],
      'close-me': [4000, 'server', 'server says bye'],
      'terminate-me': [1006, 'server', ''],
      'bad-frame': [1002, 'server', ''],
      'too-big': [1009, 'server', ''],
    });
    const errors = rec.of('error').map((e) => [byUser.get(e.conn), e.message]);
    assert.equal(errors.length, 2);
    assert.ok(errors.some(([u, m]) => u === 'bad-frame' && /RSV/.test(m)), JSON.stringify(errors));
    assert.ok(errors.some(([u, m]) => u === 'too-big' && /Max payload/i.test(m)), JSON.stringify(errors));
    const clean = [...byUser].find(([, u]) => u === 'clean')[0];
    const msgs = rec.of('message').filter((m) => m.conn === clean);
    const sum = (dir, k) => msgs.filter((m) => m.dir === dir).reduce((n, m) => n + m[k], 0);
    assert.deepEqual([sum('in', 'count'), sum('in', 'bytes'), sum('out', 'count'), sum('out', 'bytes')], [2, 10, 2, 20]);
    // Every message event of a connection comes before its close.
    const closeAt = rec.events.findIndex((e) => e.type === 'close' && e.conn === clean);
    assert.ok(rec.events.findLastIndex((e) => e.type === 'message' && e.conn === clean) < closeAt);
    const timers = rec.of('timer');
    assert.equal(timers.filter((t) => t.op === 'start').length, users.length);
    assert.equal(timers.filter((t) => t.op === 'clear').length, users.length);
    for (const t of timers) assert.match(t.timer, new RegExp(`^hb-${wscope.BOOT}-\\d+$`));
    const statuses = rec.of('upgrade_rejected').map((r) => r.status).sort();
    assert.deepEqual(statuses, mode === 'standalone' ? [400] : [400, 401]);
    rec.close();
    await feed.close();
    app.close();
  });
}

test(`ws ${WS_VERSION}: pings and pongs with rtt, app_state, timers cleared by the global clearInterval`, async () => {
  const app = await appServer('standalone');
  const feed = wscope.instrument(app.wss, { ...base, heartbeat: { pingIntervalMs: 100, pongTimeoutMs: 50 } });
  let serverWs;
  let presence;
  app.wss.on('connection', (ws) => {
    serverWs = ws;
    presence = feed.setInterval(ws, () => {}, 30, { kind: 'presence' });
  });
  const rec = await Recorder.at(feed);
  assert.deepEqual(rec.events[0].heartbeat, { ping_interval_ms: 100, pong_timeout_ms: 50 });
  const client = await openClient(`ws://127.0.0.1:${app.port}/`);
  await waitFor(() => serverWs);
  serverWs.ping();
  assert.equal(feed.appState(serverWs, 'background'), true);
  assert.throws(() => feed.appState(serverWs, 'asleep'), TypeError);
  await sleep(100);
  clearInterval(presence); // the global one: the feed notices on its next sweep
  await rec.waitFor((ev) => ev.some((e) => e.type === 'pong'), 3000, 'pong');
  await rec.waitFor((ev) => ev.some((e) => e.type === 'timer' && e.op === 'clear'), 3000, 'swept clear');
  const [open] = rec.of('open');
  const [ping] = rec.of('ping');
  const [pong] = rec.of('pong');
  assert.equal(ping.conn, open.conn);
  assert.equal(pong.conn, open.conn);
  assert.ok(pong.rtt_ms >= 0 && pong.rtt_ms < 1000);
  assert.deepEqual(
    rec.of('app_state').map((e) => [e.conn, e.state]),
    [[open.conn, 'background']]
  );
  const t = rec.of('timer');
  assert.ok(t.some((e) => e.op === 'fire'));
  assert.match(t[0].timer, new RegExp(`^timer-${wscope.BOOT}-\\d+$`));
  client.close();
  await rec.waitFor((ev) => ev.some((e) => e.type === 'close'), 3000, 'close');
  assert.equal(feed.appState(serverWs, 'foreground'), false, 'closed: nothing to report');
  rec.close();
  await feed.close();
  app.close();
});

test('attach() still works, with one DeprecationWarning', async () => {
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  const app = await appServer('standalone');
  const a = wscope.attach(app.wss, base);
  const b = wscope.attach(app.wss, base);
  await Promise.all([a.ready, b.ready]);
  await sleep(20);
  process.off('warning', onWarning);
  const ours = warnings.filter((w) => w.code === 'WSCOPE_ATTACH');
  assert.equal(ours.length, 1);
  assert.equal(ours[0].name, 'DeprecationWarning');
  await a.close();
  await b.close();
  app.close();
});

test('options: token and address from the environment, default port 9300, bad input refused', async () => {
  const app = await appServer('standalone');
  const saved = { t: process.env.WSCOPE_TOKEN, a: process.env.WSCOPE_ADMIN_ADDR };
  try {
    delete process.env.WSCOPE_TOKEN;
    delete process.env.WSCOPE_ADMIN_ADDR;
    assert.throws(() => wscope.instrument(app.wss, { port: 0 }), /token is required/);
    assert.throws(() => wscope.instrument({}, base), TypeError);
    assert.throws(() => wscope.instrument(app.wss, { ...base, historyBytes: -1 }), TypeError);

    // The default: 127.0.0.1:9300, as the Rust tap.
    const dflt = wscope.instrument(app.wss, { token: TOKEN, processEveryMs: 0 });
    assert.equal(dflt.port, 9300);
    assert.equal(dflt.host, '127.0.0.1');
    const got = await dflt.ready.catch((e) => e);
    if (got instanceof Error) assert.equal(got.code, 'EADDRINUSE', 'only a busy port may stop it');
    else assert.deepEqual(got, { host: '127.0.0.1', port: 9300 });
    await dflt.close();

    process.env.WSCOPE_TOKEN = 'from-env';
    const probe = net.createServer();
    await new Promise((r) => probe.listen(0, '127.0.0.1', r));
    const free = probe.address().port;
    await new Promise((r) => probe.close(r));
    process.env.WSCOPE_ADMIN_ADDR = `127.0.0.1:${free}`;
    const feed = wscope.instrument(app.wss, { processEveryMs: 0 });
    assert.deepEqual(await feed.ready, { host: '127.0.0.1', port: free });
    const rec = await Recorder.at(feed, '', { token: 'from-env' });
    await rec.waitFor((ev) => ev.length >= 2, 2000, 'hello + snapshot');
    rec.close();
    await feed.close();
    // Options win over the environment.
    const own = wscope.instrument(app.wss, { token: 'mine', port: 0, processEveryMs: 0 });
    assert.notEqual((await own.ready).port, free);
    await own.close();
    process.env.WSCOPE_ADMIN_ADDR = 'nonsense';
    assert.throws(() => wscope.instrument(app.wss, {}), /HOST:PORT/);
    process.env.WSCOPE_ADMIN_ADDR = '[::1]:0';
    const v6 = wscope.instrument(app.wss, { processEveryMs: 0 });
    assert.equal(v6.host, '::1');
    await v6.ready.catch(() => {}); // a machine without IPv6 loopback refuses; the parse is what counts
    await v6.close().catch(() => {});
  } finally {
    for (const [k, v] of [['WSCOPE_TOKEN', saved.t], ['WSCOPE_ADMIN_ADDR', saved.a]]) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    app.close();
  }
});

test('a wrong token gets 401', async () => {
  const app = await appServer('standalone');
  const feed = wscope.instrument(app.wss, base);
  const { port } = await feed.ready;
  const status = await new Promise((resolve) => {
    const ws = new WS.WebSocket(`ws://127.0.0.1:${port}/`, { headers: { Authorization: 'Bearer wrong' } });
    ws.on('unexpected-response', (req, res) => resolve(res.statusCode));
    ws.on('error', () => {});
  });
  assert.equal(status, 401);
  await feed.close();
  app.close();
});

// Watching an upgrade's response puts `write` and `end` on its socket for a moment; left there,
// every upgraded socket would have a hidden class of its own, which slows the streams code all
// sockets of the process share; deleted in the wrong order, the socket would become a slow
// dictionary object. V8's own check (natives syntax, enabled for this test) tells.
test(`ws ${WS_VERSION}: upgraded sockets are left as they were (no own write or end, fast properties)`, async () => {
  require('v8').setFlagsFromString('--allow-natives-syntax');
  // eslint-disable-next-line no-new-func
  const fast = new Function('o', 'return %HasFastProperties(o)');
  for (const mode of ['standalone', 'noServer', 'http']) {
    const app = await appServer(mode);
    const feed = wscope.instrument(app.target, { ...base, ...app.extra });
    const socket = new Promise((r) => app.wss.once('connection', (ws) => r(ws._socket)));
    const client = await openClient(`ws://127.0.0.1:${app.port}/ws`);
    const s = await socket;
    try {
      assert.equal(Object.hasOwn(s, 'write'), false, `${mode}: own write left`);
      assert.equal(Object.hasOwn(s, 'end'), false, `${mode}: own end left`);
      assert.equal(fast(s), true, `${mode}: the socket became a dictionary`);
      assert.equal(fast(new net.Socket()), true, 'the check itself');
    } finally {
      client.terminate();
      await feed.close();
      app.close();
    }
  }
});

// With only the http.Server instrumented, a WebSocket is tracked a moment after its upgrade: a
// greeting sent in the application's connection handler comes first. Messages after it count.
// No subscriber here: the feed's own sends would hide a stale cache of the last WebSocket.
test(`ws ${WS_VERSION}, http: a greeting sent before tracking leaves the later messages counted`, async () => {
  const app = await appServer('http');
  const feed = wscope.instrument(app.target, { ...base, ...app.extra });
  const accepted = [];
  app.wss.on('connection', (ws) => {
    accepted.push(ws);
    ws.send('welcome');
    ws.on('message', (d) => ws.send(d));
  });
  // A raw client: a `ws` client in this process would share the patched class and move the
  // cache itself.
  const frame = (text) => {
    const body = Buffer.from(text);
    return Buffer.concat([Buffer.from([0x81, 0x80 | body.length, 0, 0, 0, 0]), body]);
  };
  for (const round of [1, 2]) {
    const client = net.connect(app.port, '127.0.0.1');
    let received = '';
    client.on('data', (d) => (received += d.toString('latin1')));
    client.write(
      'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
    );
    await waitFor(() => received.includes('welcome'), 2000, 'welcome');
    client.write(Buffer.concat([frame('one'), frame('two')]));
    await waitFor(() => received.includes('two'), 2000, 'echoes');
    const st = feed.stateOf(accepted[round - 1]);
    assert.ok(st, `round ${round}: tracked`);
    assert.equal(st.inbound.msgs, 2, `round ${round}: messages in`);
    // The welcome may precede tracking; the echoes may not.
    assert.ok(st.outbound.msgs >= 2, `round ${round}: messages out ${st.outbound.msgs}`);
    client.destroy();
  }
  await feed.close();
  app.close();
});
