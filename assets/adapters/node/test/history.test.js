'use strict';
// History for a late subscriber (assets/spec/feed-protocol-extensions.md), with a real `ws`
// server, real clients and real subscribers.

const { test } = require('node:test');
const assert = require('assert/strict');
const wscope = require('..');
const { WS, WS_VERSION, TOKEN, sleep, waitFor, Recorder, openClient } = require('./helpers');

const base = { token: TOKEN, port: 0, processEveryMs: 0, aggregateMs: 20 };

async function setup(options) {
  const wss = new WS.WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => {
    ws.on('message', (d) => ws.send(d));
    ws.on('error', () => {});
  });
  const feed = wscope.instrument(wss, { ...base, ...options });
  const url = `ws://127.0.0.1:${wss.address().port}/`;
  const done = async () => {
    for (const c of wss.clients) c.terminate();
    await feed.close();
    wss.close();
  };
  return { wss, feed, url, done };
}

/** What a reader holds after each event; fails on a close (or message, ping…) of an unknown conn. */
function replayAsReader(events) {
  let open = new Set();
  for (const e of events) {
    if (e.type === 'snapshot') open = new Set(e.connections.map((c) => c.conn));
    else if (e.type === 'open') {
      assert.ok(!open.has(e.conn), `second open of ${e.conn}`);
      open.add(e.conn);
    } else if (e.type === 'close') {
      assert.ok(open.has(e.conn), `close for an unknown conn ${e.conn}`);
      open.delete(e.conn);
    } else if (['message', 'ping', 'pong', 'app_state'].includes(e.type)) {
      assert.ok(open.has(e.conn), `${e.type} for an unknown conn ${e.conn}`);
    }
  }
  return open;
}

test(`ws ${WS_VERSION}: a late subscriber gets hello, the state at the history's start, the history, then the present`, async () => {
  const { feed, url, done } = await setup();
  // An early subscriber without history sees everything live: the late one must get the same lines.
  const early = await Recorder.at(feed, '?history=0');
  const clients = [];
  for (let i = 0; i < 5; i++) clients.push(await openClient(url));
  clients[0].send('hello');
  await sleep(50);
  clients[0].close(1000, 'done');
  clients[1].close(4001, 'kicked');
  clients[2]._socket.destroy();
  await early.waitFor((ev) => ev.filter((e) => e.type === 'close').length === 3, 3000, 'closes');
  await sleep(50);

  const late = await Recorder.at(feed);
  await late.waitFor((ev) => ev.filter((e) => e.type === 'snapshot').length === 2, 3000, 'two snapshots');
  const [hello, first] = late.events;
  assert.equal(hello.type, 'hello');
  assert.equal(first.type, 'snapshot');
  const live = early.raw.slice(2); // after its hello and snapshot
  assert.ok(hello.history, 'hello says there is history');
  assert.equal(hello.history.events, live.length);
  assert.equal(hello.ts, hello.history.from);
  assert.equal(hello.history.from, JSON.parse(live[0]).ts, 'from: the time of the first event');
  assert.equal(first.ts, hello.history.from);
  assert.deepEqual(first.connections, [], 'nothing was open before the history began');
  // The history: exactly the lines the early subscriber got live, original times included.
  const history = late.raw.slice(2, 2 + hello.history.events);
  assert.deepEqual(history, live);
  const closes = late.of('close');
  assert.deepEqual(
    closes.map((c) => [c.code, c.initiator]).sort(),
    [
      [1000, 'client'],
      [1006, 'none'],
      [4001, 'client'],
    ]
  );
  const present = late.events[2 + hello.history.events];
  assert.equal(present.type, 'snapshot');
  assert.equal(present.connections.length, 2);
  assert.ok(closes.every((c) => Date.parse(present.ts) >= Date.parse(c.ts)));
  const open = replayAsReader(late.events);
  assert.equal(open.size, 2);

  // Resync: a snapshot of the present, never history.
  const before = late.events.length;
  late.ws.send('{"type":"resync"}');
  await late.waitFor((ev) => ev.length > before, 2000, 'resync');
  await sleep(100);
  assert.deepEqual(
    late.events.slice(before).map((e) => e.type),
    ['snapshot']
  );
  early.close();
  late.close();
  await done();
});

test('?history=0 and X-Wscope-History: 0 opt out; history: false turns it off', async () => {
  const { feed, url, done } = await setup();
  const c = await openClient(url);
  c.close();
  await waitFor(() => feed.conns.size === 0 && feed.history.length >= 2, 2000, 'open and close in history');
  for (const [query, headers] of [
    ['?history=0', {}],
    ['', { 'X-Wscope-History': '0' }],
  ]) {
    const r = await Recorder.at(feed, query, { headers });
    await r.waitFor((ev) => ev.length >= 2, 2000, 'hello + snapshot');
    await sleep(50);
    assert.deepEqual(
      r.events.map((e) => e.type),
      ['hello', 'snapshot'],
      `${query} ${JSON.stringify(headers)}`
    );
    assert.equal(r.events[0].history, undefined);
    assert.ok(Date.now() - Date.parse(r.events[0].ts) < 1000, 'hello ts is now');
    r.close();
  }
  await done();

  const off = await setup({ history: false });
  assert.equal(off.feed.history, null);
  const c2 = await openClient(off.url);
  c2.close();
  await sleep(100);
  const r = await Recorder.at(off.feed);
  await r.waitFor((ev) => ev.length >= 2, 2000, 'hello + snapshot');
  await sleep(50);
  assert.deepEqual(
    r.events.map((e) => e.type),
    ['hello', 'snapshot']
  );
  r.close();
  await off.done();
});

test('the byte limit evicts the oldest events; the state at the start follows', async () => {
  const limit = 4000;
  const { feed, url, wss, done } = await setup({ historyBytes: limit });
  const clients = [];
  for (let i = 0; i < 30; i++) clients.push(await openClient(url));
  // Memory stays bounded while events pour in.
  for (let i = 0; i < 2000; i++) feed.clearInterval(feed.setInterval(null, () => {}, 1000, { kind: 'burst' }));
  assert.ok(feed.history.bytes <= limit, `${feed.history.bytes} bytes kept`);
  assert.ok(feed.history.evicted > 2000);
  // Close every other client, with a long reason: some opens are now evicted, their closes kept.
  for (let i = 0; i < 30; i += 2) clients[i].close(4000, 'r'.repeat(100));
  await waitFor(() => feed.conns.size === 15, 3000, 'closes seen');
  await sleep(50);
  assert.ok(feed.history.bytes <= limit);

  const late = await Recorder.at(feed);
  await late.waitFor((ev) => ev.filter((e) => e.type === 'snapshot').length === 2, 3000, 'two snapshots');
  const [hello, start] = late.events;
  const n = hello.history.events;
  const history = late.raw.slice(2, 2 + n);
  const bytes = history.reduce((s, l) => s + Buffer.byteLength(l), 0);
  assert.ok(bytes <= limit, `${bytes} bytes of history sent`);
  assert.ok(!history.some((l) => l.includes('"type":"open"')), 'the opens were evicted');
  // The closes still in history find their connections in the state at the history's start.
  const closes = late.of('close');
  assert.ok(closes.length > 0 && closes.length <= 15);
  const startIds = new Set(start.connections.map((c) => c.conn));
  for (const c of closes) assert.ok(startIds.has(c.conn), `${c.conn} open at the history's start`);
  assert.equal(start.connections.length, 15 + closes.length);
  // A burst timer whose start was evicted but whose clear is kept was running at the start.
  const cleared = new Set(late.of('timer').filter((t) => t.op === 'clear').map((t) => t.timer));
  for (const t of start.timers) assert.ok(cleared.has(t.timer), `${t.timer} is cleared in the history`);
  replayAsReader(late.events);
  const present = late.events[2 + n];
  assert.equal(present.connections.length, 15);
  assert.equal(wss.clients.size, 15);
  late.close();
  await done();
});

test('the age limit: events older than historyMs are gone', async () => {
  const { feed, url, done } = await setup({ historyMs: 200 });
  const c = await openClient(url);
  await sleep(300);
  c.send('x');
  await sleep(100);
  const r = await Recorder.at(feed);
  await r.waitFor((ev) => ev.filter((e) => e.type === 'snapshot').length === 2, 2000, 'two snapshots');
  const [hello, start] = r.events;
  assert.equal(hello.history.events, 2, 'the message in and its echo, not the open');
  assert.equal(start.connections.length, 1, 'the connection opened before the history began');
  assert.equal(r.of('open').length, 0);
  r.close();
  await done();
});

test(`ws ${WS_VERSION}: a reconnecting subscriber gets only what came after the last event it heard`, async () => {
  const { feed, url, done } = await setup();
  const first = await Recorder.at(feed, '?history=0');
  const clients = [];
  for (let i = 0; i < 3; i++) clients.push(await openClient(url));
  await first.waitFor((ev) => ev.filter((e) => e.type === 'open').length === 3, 3000, 'opens');
  const opens = first.of('open');
  // Heard up to the second open; gone; meanwhile one client leaves.
  const heard = opens[1].ts;
  first.close();
  await sleep(20);
  clients[0].close(1000, 'bye');
  await sleep(100);
  const again = await Recorder.at(feed, '', { headers: { 'X-Wscope-History-Since': heard } });
  await again.waitFor((ev) => ev.filter((e) => e.type === 'snapshot').length === 2, 3000, 'two snapshots');
  const [hello, base] = again.events;
  assert.equal(hello.history.from, heard);
  assert.equal(base.ts, heard);
  const after = again.events.slice(2, 2 + hello.history.events);
  assert.ok(after.every((e) => Date.parse(e.ts) > Date.parse(heard)), JSON.stringify(after));
  // What it heard is in the state it starts from; what it missed comes as events.
  const heardIds = new Set(opens.slice(0, 2).map((o) => o.conn));
  for (const c of base.connections) assert.ok(heardIds.has(c.conn) || c.conn === opens[2].conn);
  assert.ok(!after.some((e) => e.type === 'open' && heardIds.has(e.conn)), 'no open heard twice');
  assert.equal(after.filter((e) => e.type === 'close').length, 1);
  replayAsReader(again.events);
  again.close();
  for (const c of clients) c.terminate();
  await done();
});

test(`ws ${WS_VERSION}: a snapshot's last_activity is the connection's last message, not its open`, async () => {
  const { feed, url, done } = await setup();
  const client = await openClient(url);
  const rec = await Recorder.at(feed, '?history=0');
  const opened = Date.parse(rec.events[1].connections[0].opened);
  await sleep(300);
  client.send('later');
  await rec.waitFor((ev) => ev.some((e) => e.type === 'message' && e.dir === 'out'), 2000, 'the echo counted');
  const before = rec.events.length;
  rec.ws.send('{"type":"resync"}');
  await rec.waitFor((ev) => ev.length > before && ev[ev.length - 1].type === 'snapshot', 2000, 'resync');
  const [conn] = rec.events[rec.events.length - 1].connections;
  const last = Date.parse(conn.last_activity);
  const echoed = Date.parse(rec.of('message').find((m) => m.dir === 'out').ts);
  assert.ok(last >= opened + 250, `last_activity ${conn.last_activity} is after the pause`);
  assert.equal(last, echoed, 'the time of the last counted message');
  assert.equal(conn.msgs_in, 1);
  assert.equal(conn.msgs_out, 1);
  client.terminate();
  await done();
});
