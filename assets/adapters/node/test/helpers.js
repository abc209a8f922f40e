'use strict';
// Shared by the tests: which `ws` the tests run against, a feed subscriber that records and
// checks every event against feed-protocol.md, and small waits.

const assert = require('assert/strict');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

/** The installed version of a dev dependency (read from its folder: not every package exports
 *  its package.json). */
function versionOf(name) {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** `WSCOPE_TEST_WS=oldest` runs the tests against the oldest `ws` claimed (8.17.1, the
 *  `ws-oldest` alias devDependency); otherwise the newest (`ws`). */
const WS_NAME = process.env.WSCOPE_TEST_WS === 'oldest' ? 'ws-oldest' : 'ws';
const WS = require(WS_NAME);
const WS_VERSION = versionOf(WS_NAME);

/** The same for Socket.IO: `socket.io-oldest` (4.1.0, the oldest claimed: `connection_error`,
 *  which reports refused upgrades, came in 4.1) or the newest. */
const SIO_NAME = process.env.WSCOPE_TEST_WS === 'oldest' ? 'socket.io-oldest' : 'socket.io';
const SIO_VERSION = versionOf(SIO_NAME);

const TOKEN = 'test-token';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(pred, ms = 5000, what = 'condition') {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return;
    await sleep(10);
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

// ---- the protocol, checked in JS ----------------------------------------------------------

const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const INITIATORS = new Set(['client', 'server', 'none']);
const REQUIRED = {
  hello: ['protocol', 'server'],
  snapshot: ['connections', 'timers'],
  open: ['conn'],
  upgrade_rejected: [],
  ping: ['conn'],
  pong: ['conn'],
  message: ['conn', 'dir'],
  close: ['conn', 'code', 'initiator'],
  error: ['message'],
  timer: ['timer', 'op'],
  app_state: ['conn', 'state'],
  dropped: ['count'],
  process: [],
};

/** Throws unless `e` is a valid event of feed-protocol.md. */
function checkEvent(e) {
  assert.equal(typeof e, 'object', 'an event is a JSON object');
  assert.ok(REQUIRED[e.type], `unknown type ${e.type}`);
  assert.match(e.ts, TS, `${e.type}: ts`);
  for (const k of REQUIRED[e.type]) assert.ok(k in e, `${e.type}: ${k} missing in ${JSON.stringify(e)}`);
  if ('conn' in e) assert.equal(typeof e.conn, 'string');
  switch (e.type) {
    case 'hello':
      assert.equal(e.protocol, 1);
      if (e.heartbeat != null) assert.ok(e.heartbeat.ping_interval_ms > 0);
      if (e.history) {
        assert.match(e.history.from, TS);
        assert.ok(Number.isInteger(e.history.events));
      }
      break;
    case 'snapshot':
      for (const c of e.connections) {
        assert.equal(typeof c.conn, 'string');
        assert.match(c.opened, TS);
      }
      for (const t of e.timers) assert.equal(typeof t.timer, 'string');
      break;
    case 'message':
      assert.ok(e.dir === 'in' || e.dir === 'out');
      assert.ok(Number.isInteger(e.count) && e.count >= 1);
      assert.ok(Number.isInteger(e.bytes) && e.bytes >= 0);
      break;
    case 'close':
      assert.ok(e.code === null || (Number.isInteger(e.code) && e.code >= 1000 && e.code <= 4999), `code ${e.code}`);
      assert.ok(INITIATORS.has(e.initiator), `initiator ${e.initiator}`);
      assert.equal(typeof e.reason, 'string');
      break;
    case 'upgrade_rejected':
      assert.ok(e.status === undefined || Number.isInteger(e.status));
      break;
    case 'pong':
      if ('rtt_ms' in e) assert.equal(typeof e.rtt_ms, 'number');
      break;
    case 'timer':
      assert.ok(['start', 'clear', 'fire'].includes(e.op));
      break;
    case 'app_state':
      assert.ok(e.state === 'background' || e.state === 'foreground');
      break;
    default:
  }
}

/** A feed subscriber that records every event, checking each against the protocol. */
class Recorder {
  constructor(url, options = {}) {
    this.events = [];
    this.raw = [];
    this.closed = null;
    const headers = { Authorization: `Bearer ${options.token || TOKEN}`, ...(options.headers || {}) };
    this.ws = new WS.WebSocket(url, { headers });
    this.ws.on('message', (data) => {
      const text = data.toString();
      this.raw.push(text);
      const e = JSON.parse(text);
      checkEvent(e);
      this.events.push(e);
    });
    this.ws.on('close', (code) => (this.closed = code));
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
  }

  static async at(feed, query = '', options = {}) {
    const addr = await feed.ready;
    const r = new Recorder(`ws://127.0.0.1:${addr.port}/${query}`, options);
    await r.opened;
    return r;
  }

  of(type) {
    return this.events.filter((e) => e.type === type);
  }

  waitFor(pred, ms, what) {
    return waitFor(() => pred(this.events), ms, what);
  }

  close() {
    this.ws.terminate();
  }
}

function openClient(url, options) {
  return new Promise((resolve, reject) => {
    const ws = new WS.WebSocket(url, options);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** `true` when `cmd --version` runs; otherwise a test that needs it skips, or fails under CI. */
function need(t, cmd, args = ['--version']) {
  const ok = spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
  if (ok) return true;
  if (process.env.CI) assert.fail(`${cmd} is needed and CI is set`);
  t.skip(`${cmd} is not installed`);
  return false;
}

module.exports = { versionOf, WS, WS_NAME, WS_VERSION, SIO_NAME, SIO_VERSION, TOKEN, sleep, waitFor, checkEvent, Recorder, openClient, need };
