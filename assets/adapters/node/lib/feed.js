'use strict';
// The admin feed itself: its WebSocket endpoint, its subscribers, its history, and the state of
// the connections and timers it reports. Where the events come from (a `ws` server, a Socket.IO
// server) is in ws.js and socketio.js.

const http = require('http');
const os = require('os');
const { EventEmitter } = require('events');
const { performance } = require('perf_hooks');

const { Subscriber } = require('./subscriber');
const { History } = require('./history');
const { now, compact, sameToken, tokenOf, historyOptOut, historySince, parseAddr, countOpenFds } = require('./util');

const PROTOCOL = 1;
const DEFAULT_PORT = 9300;
const DEFAULT_HOST = '127.0.0.1';
const APP_STATES = new Set(['background', 'foreground']);

/** `<boot>`: the process start time in ms since the epoch, base 36 (feed-protocol-extensions.md):
 *  ids of a restarted server never repeat those of its previous run. */
const BOOT = Math.round(performance.timeOrigin).toString(36);

function positive(name, v, dflt) {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) {
    throw new TypeError(`wscope: options.${name} must be a number >= 0, not ${JSON.stringify(v)}`);
  }
  return v;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The time of a counted message. Reading the clock costs about 100 ns on a VM (and scheduling
// its invalidation another 200), more than all the rest of the counting, so messages are
// stamped with a clock a timer refreshes every CLOCK_MS while they flow: the timer stops after
// a quiet tick (an idle server is never woken), and the first message after it reads the clock
// itself. A stamp is at most CLOCK_MS old: well inside the aggregation of message events (500 ms
// by default), whose order against other events is kept by `freshClock()` at every open.
const CLOCK_MS = 10;
let clockMs = 0;
let clockTimer = null;
let clockUsed = false;
function clockTick() {
  if (clockUsed) {
    clockUsed = false;
    clockMs = Date.now();
  } else {
    clearInterval(clockTimer);
    clockTimer = null;
  }
}
function messageClock() {
  if (clockTimer === null) {
    clockMs = Date.now();
    clockTimer = setInterval(clockTick, CLOCK_MS);
    clockTimer.unref();
  }
  clockUsed = true;
  return clockMs;
}
/** The clock now, also for the messages that follow (a connection's messages never precede its open). */
function freshClock() {
  clockMs = Date.now();
  return clockMs;
}

/** What an `open` event and a snapshot's entry both say of a connection. */
function described(st) {
  return {
    conn: st.id,
    remote: st.remote,
    user_agent: st.userAgent,
    path: st.path,
    forwarded_for: st.forwardedFor,
    client: st.client,
    subprotocol: st.subprotocol,
  };
}

/** One direction of a connection's messages: its totals, and what is not yet reported. */
function direction(dir) {
  return { dir, msgs: 0, bytes: 0, pendingCount: 0, pendingBytes: 0, lastMs: 0 };
}

class WscopeFeed extends EventEmitter {
  /** `WebSocketServer`: the `ws` class the feed's own endpoint uses (see index.js). */
  constructor(options, WebSocketServer) {
    super();
    const o = options || {};
    const token = o.token === undefined ? process.env.WSCOPE_TOKEN : o.token;
    if (!token) throw new Error('wscope: a token is required (options.token or WSCOPE_TOKEN)');
    this.token = String(token);
    const envAddr = process.env.WSCOPE_ADMIN_ADDR ? parseAddr(process.env.WSCOPE_ADMIN_ADDR) : {};
    this.host = o.host || envAddr.host || DEFAULT_HOST;
    this.port = o.port !== undefined ? o.port : envAddr.port !== undefined ? envAddr.port : DEFAULT_PORT;
    this.server = o.server || os.hostname();
    this.software = o.software;
    const hb = o.heartbeat;
    if (hb && !(hb.pingIntervalMs > 0)) {
      throw new TypeError('wscope: heartbeat.pingIntervalMs must be a positive number of ms');
    }
    // `undefined`: not said (a Socket.IO server says its own); `null`: no pings.
    this.heartbeatOption =
      hb === undefined ? undefined : hb ? { ping_interval_ms: hb.pingIntervalMs, pong_timeout_ms: hb.pongTimeoutMs || 0 } : null;
    this.heartbeatSource = null; // () => heartbeat, set by a Socket.IO target
    this.clientId = o.clientId;
    this.queueLimit = positive('queueLimit', o.queueLimit, 10000) || 10000;
    this.maxInFlight = positive('maxInFlight', o.maxInFlight, 64) || 64;
    this.recordTimerFires = o.recordTimerFires !== false;
    const historyMs = positive('historyMs', o.historyMs, 10 * 60 * 1000);
    const historyBytes = positive('historyBytes', o.historyBytes, 64 * 1024 * 1024);
    this.history = o.history === false || historyMs === 0 || historyBytes === 0 ? null : new History(historyMs, historyBytes);

    this.nextConn = 1;
    this.nextTimer = 1;
    this.conns = new Map(); // id -> state
    this.timers = new Map(); // id -> timer record
    this.pending = new Set(); // states with unreported messages
    this.subscribers = new Set();
    this.closing = false;
    this.stopped = false; // after close(): the instrumentation stays, the feed reports nothing

    // Aggregated messages go out within half a second, so reordering stays under a second.
    this.flushTimer = setInterval(() => this.flushAll(), positive('aggregateMs', o.aggregateMs, 500) || 500);
    this.flushTimer.unref();
    const every = positive('processEveryMs', o.processEveryMs, 10000);
    if (every > 0) {
      this.processTimer = setInterval(() => this.emitProcess(), every);
      this.processTimer.unref();
    }

    // The feed's own HTTP server, unref'd: watching never keeps the process alive.
    this.http = http.createServer((req, res) => {
      const body = 'wscope admin feed: connect with a WebSocket client\n';
      res.writeHead(426, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
      res.end(body);
    });
    this.http.on('connection', (socket) => socket.unref());
    this.admin = new WebSocketServer({
      server: this.http,
      perMessageDeflate: false,
      maxPayload: 4096,
      verifyClient: (info, cb) => {
        if (sameToken(tokenOf(info.req), this.token)) cb(true);
        // A wrong token is answered after a delay, as by the Rust tap: guessing goes at a
        // few tries per second per connection, not thousands.
        else setTimeout(() => cb(false, 401, 'Unauthorized: wscope feed token missing or wrong'), 250);
      },
    });
    // A stranger that connects and sends nothing is dropped within seconds, as by the Rust tap.
    this.http.headersTimeout = 3000;
    this.http.requestTimeout = 5000;
    this.ready = new Promise((resolve, reject) => {
      this.http.once('listening', () => {
        const a = this.http.address();
        resolve({ host: a.address, port: a.port });
      });
      this.http.on('error', (err) => {
        // A listen failure rejects `ready`; the instrumented server itself keeps running.
        process.stderr.write(`wscope: admin feed error: ${err.message}\n`);
        reject(err);
      });
    });
    this.ready.catch(() => {});
    // `ws` re-emits the HTTP server's errors here; they are reported above already.
    this.admin.on('error', () => {});
    this.http.listen(this.port, this.host);
    this.http.unref();
    this.admin.on('connection', (socket, req) => this.subscribe(socket, req));
  }

  /** The feed's address once listening (`{host, port}`), else `undefined`. */
  address() {
    const a = this.http.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  // ---- subscribers ------------------------------------------------------------------------

  subscribe(socket, req) {
    this.flushAll();
    const backlog = [];
    const replay = this.history && !historyOptOut(req) ? this.history.replay(historySince(req)) : undefined;
    if (replay) {
      backlog.push(JSON.stringify(this.hello(replay.from, { from: replay.from, events: replay.lines.length })));
      backlog.push(replay.snapshot);
      for (const line of replay.lines) backlog.push(line);
    } else {
      backlog.push(JSON.stringify(this.hello(now())));
    }
    backlog.push(JSON.stringify(this.snapshot()));
    const sub = new Subscriber(socket, this.queueLimit, this.maxInFlight, backlog);
    this.subscribers.add(sub);
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return;
      }
      // A snapshot of a big server is costly: at most one a second per subscriber. Never history.
      if (msg && msg.type === 'resync' && Date.now() - sub.lastResync >= 1000) {
        sub.lastResync = Date.now();
        this.flushAll();
        sub.push(JSON.stringify(this.snapshot()));
      }
    });
    socket.on('close', () => {
      this.subscribers.delete(sub);
      sub.settle();
    });
    socket.on('error', () => {});
    sub.pump();
    this.emit('subscriber', { remote: req && req.socket && req.socket.remoteAddress, history: !!replay });
  }

  get subscriberCount() {
    return this.subscribers.size;
  }

  get heartbeat() {
    if (this.heartbeatOption !== undefined) return this.heartbeatOption;
    return this.heartbeatSource ? this.heartbeatSource() : null;
  }

  hello(ts, history) {
    return compact({
      type: 'hello',
      ts,
      protocol: PROTOCOL,
      server: this.server,
      software: this.software,
      heartbeat: this.heartbeat,
      history,
    });
  }

  snapshot() {
    this.sweepTimers();
    const connections = [];
    for (const st of this.conns.values()) {
      connections.push(
        compact({
          ...described(st),
          opened: st.opened,
          last_activity: new Date(Math.max(st.lastActivityMs, st.inbound.lastMs, st.outbound.lastMs)).toISOString(),
          last_ping: st.lastPing,
          last_pong: st.lastPong,
          msgs_in: st.inbound.msgs,
          msgs_out: st.outbound.msgs,
          bytes_in: st.inbound.bytes,
          bytes_out: st.outbound.bytes,
        })
      );
    }
    const timers = [];
    for (const t of this.timers.values()) {
      timers.push(compact({ conn: t.conn, timer: t.id, kind: t.kind, interval_ms: t.intervalMs, started: t.started }));
    }
    return { type: 'snapshot', ts: now(), connections, timers };
  }

  /** Sends one event to every subscriber and into the history. (`emit` is EventEmitter's.) */
  event(ev) {
    if (this.stopped) return;
    compact(ev);
    if (!this.history && this.subscribers.size === 0) return;
    const line = JSON.stringify(ev);
    if (this.history) this.history.push(ev.type, ev.ts, line);
    for (const sub of this.subscribers) sub.push(line);
  }

  emitProcess() {
    this.event({ type: 'process', ts: now(), rss_bytes: process.memoryUsage().rss, open_fds: countOpenFds() });
  }

  // ---- connections (whatever their source) ------------------------------------------------

  /** A new connection: `info` has `handle` (what the app holds), `req`, and `close(code, reason)`
   *  / `kill()` used by `shutdown`, plus the `open` fields the source knows. */
  openConn(info) {
    const ts = now();
    const req = info.req;
    let client;
    if (this.clientId && req) {
      try {
        client = this.clientId(req) || undefined;
      } catch {
        client = undefined;
      }
    }
    const st = {
      id: `${BOOT}-${this.nextConn++}`,
      handle: info.handle,
      opened: ts,
      remote: info.remote,
      userAgent: info.userAgent,
      path: info.path,
      forwardedFor: info.forwardedFor,
      client: client === undefined ? undefined : String(client),
      subprotocol: info.subprotocol,
      lastActivityMs: freshClock(),
      lastPing: undefined,
      lastPong: undefined,
      pingSentAt: undefined,
      inbound: direction('in'),
      outbound: direction('out'),
      isPending: false,
      closed: false,
      shutdown: undefined,
      initiator: info.initiator,
      closeFn: info.close,
      killFn: info.kill,
      // Set later by the sources; declared here so that every state has one hidden class
      // (the per-message code reads these objects).
      feed: this,
      ws: undefined,
      sentCode: undefined,
      protocolError: false,
      wsClose: undefined,
      sioReason: undefined,
    };
    this.conns.set(st.id, st);
    this.event({ type: 'open', ts, ...described(st) });
    return st;
  }

  pingSent(st) {
    this.flushConn(st);
    const ts = now();
    st.lastPing = ts;
    st.lastActivityMs = Date.now();
    st.pingSentAt = performance.now();
    this.event({ type: 'ping', ts, conn: st.id });
  }

  pongReceived(st) {
    this.flushConn(st);
    const ts = now();
    st.lastPong = ts;
    st.lastActivityMs = Date.now();
    const rtt = st.pingSentAt === undefined ? undefined : Math.round((performance.now() - st.pingSentAt) * 1000) / 1000;
    st.pingSentAt = undefined;
    this.event({ type: 'pong', ts, conn: st.id, rtt_ms: rtt });
  }

  connError(st, message) {
    this.event({ type: 'error', ts: now(), conn: st.id, message: String(message) });
  }

  /** The connection ended: `code` as received (1005 becomes null), `initiator` client/server/none. */
  closeConn(st, code, reason, initiator) {
    if (st.closed) return;
    this.flushConn(st);
    this.conns.delete(st.id);
    st.closed = true;
    this.event({
      type: 'close',
      ts: now(),
      conn: st.id,
      // A close frame with no status: `ws` says 1005; the protocol says null.
      code: code === 1005 || code === undefined ? null : code,
      reason: reason || '',
      initiator,
    });
  }

  /** Counts one message of a connection in one direction (`st.inbound` or `st.outbound`).
   *  Runs per message: no allocation, no clock read (see `messageClock`). A connection's last
   *  activity is the latest of its opening, pings, pongs and its directions' `lastMs`. */
  count(st, side, bytes) {
    side.msgs++;
    side.bytes += bytes;
    side.pendingCount++;
    side.pendingBytes += bytes;
    side.lastMs = messageClock();
    if (!st.isPending) {
      st.isPending = true;
      this.pending.add(st);
    }
  }

  /** Sends a connection's aggregated messages before anything else about it. */
  flushConn(st) {
    if (!st.isPending) return;
    for (const side of [st.inbound, st.outbound]) {
      if (side.pendingCount > 0) {
        const { dir, pendingCount: count, pendingBytes: bytes } = side;
        side.pendingCount = 0;
        side.pendingBytes = 0;
        this.event({ type: 'message', ts: new Date(side.lastMs).toISOString(), conn: st.id, dir, count, bytes });
      }
    }
    st.isPending = false;
    this.pending.delete(st);
  }

  flushAll() {
    for (const st of [...this.pending]) this.flushConn(st);
    this.sweepTimers();
  }

  /** The connection state of what the app holds (a `ws` WebSocket, a Socket.IO socket, ...). */
  stateOf(handle) {
    return this.lookup ? this.lookup(handle) : undefined;
  }

  /** Reports that the client app behind `handle` went to the background or came back. */
  appState(handle, state) {
    if (!APP_STATES.has(state)) {
      throw new TypeError(`wscope: appState() takes 'background' or 'foreground', not ${JSON.stringify(state)}`);
    }
    const st = this.stateOf(handle);
    if (!st || st.closed) return false;
    this.flushConn(st);
    this.event({ type: 'app_state', ts: now(), conn: st.id, state });
    return true;
  }

  // ---- upgrades that fail ------------------------------------------------------------------

  rejected(fields) {
    this.event({ type: 'upgrade_rejected', ts: now(), ...fields });
  }

  // ---- per-connection timers ---------------------------------------------------------------

  startTimer(handle, kind, intervalMs, name) {
    const st = handle ? this.stateOf(handle) : undefined;
    const t = {
      id: `${name || 'timer'}-${BOOT}-${this.nextTimer++}`,
      conn: st && st.id,
      connState: st,
      kind,
      intervalMs,
      started: now(),
      handle: null,
    };
    this.timers.set(t.id, t);
    this.event({ type: 'timer', ts: t.started, conn: t.conn, timer: t.id, op: 'start', kind, interval_ms: intervalMs });
    return t;
  }

  fired(t) {
    // A fire after the connection closed is the tell-tale of a leak: always report it.
    if (this.recordTimerFires || (t.connState && t.connState.closed)) {
      this.event({ type: 'timer', ts: now(), conn: t.conn, timer: t.id, op: 'fire' });
    }
  }

  endTimer(t) {
    if (!this.timers.delete(t.id)) return;
    this.event({ type: 'timer', ts: now(), conn: t.conn, timer: t.id, op: 'clear' });
  }

  /** Timers cleared with the global clearInterval/clearTimeout, which the feed did not see.
   *  `_destroyed` is Node's own field of a Timeout (Node 12 to 22 at least): there is no public
   *  way to ask whether a timer was cleared. Covered by test/timers.test.js. */
  sweepTimers() {
    for (const t of this.timers.values()) if (t.handle && t.handle._destroyed) this.endTimer(t);
  }

  /** `setInterval` tied to a connection: the timer shows in wscope, and one still firing after
   *  its connection closed shows as a leak suspect. Clear it with `feed.clearInterval`. */
  setInterval(handle, fn, ms, opts) {
    const o = opts || {};
    const t = this.startTimer(handle, o.kind || 'interval', ms, o.name);
    const args = o.args || [];
    t.handle = setInterval(() => {
      this.fired(t);
      fn(...args);
    }, ms);
    t.handle.wscopeTimer = t;
    return t.handle;
  }

  setTimeout(handle, fn, ms, opts) {
    const o = opts || {};
    const t = this.startTimer(handle, o.kind || 'timeout', ms, o.name);
    const args = o.args || [];
    t.handle = setTimeout(() => {
      this.fired(t);
      this.endTimer(t);
      fn(...args);
    }, ms);
    t.handle.wscopeTimer = t;
    return t.handle;
  }

  clearInterval(handle) {
    if (!handle) return;
    clearInterval(handle);
    if (handle.wscopeTimer) this.endTimer(handle.wscopeTimer);
  }

  clearTimeout(handle) {
    this.clearInterval(handle);
  }

  // ---- ending ------------------------------------------------------------------------------

  /**
   * Closes every client with `code` and `reason`, waits until their closes are in the feed and
   * sent to every subscriber (or `timeoutMs` passed: the clients still open are then cut, and
   * their closes reported), then ends the admin feed. For a SIGTERM handler:
   * `await feed.shutdown(); process.exit(0)`.
   */
  async shutdown(opts) {
    const o = opts || {};
    const code = o.code === undefined ? 1001 : o.code;
    const reason = o.reason === undefined ? 'server shutting down' : String(o.reason);
    const timeoutMs = positive('timeoutMs', o.timeoutMs, 5000);
    const deadline = Date.now() + timeoutMs;
    this.closing = true;
    const open = [...this.conns.values()];
    for (const st of open) {
      st.shutdown = { code, reason };
      try {
        st.closeFn(code, reason);
      } catch {
        // A socket that cannot be closed any more is cut below.
      }
    }
    const allClosed = () => open.every((st) => st.closed);
    while (!allClosed() && Date.now() < deadline) await sleep(10);
    if (!allClosed()) {
      for (const st of open) {
        if (st.closed) continue;
        try {
          st.killFn();
        } catch {
          // Reported as closed below.
        }
      }
      const cutDeadline = Date.now() + 200;
      while (!allClosed() && Date.now() < cutDeadline) await sleep(5);
      // Whatever still did not report its close (a transport that never ends) is reported now,
      // so that the feed holds a close for every connection it opened.
      for (const st of open) if (!st.closed) this.closeConn(st, 1006, reason, 'server');
    }
    this.flushAll();
    const flushLeft = Math.max(deadline - Date.now(), 250);
    await Promise.race([Promise.all([...this.subscribers].map((s) => s.drained())), sleep(flushLeft)]);
    await this.close({ code, reason, graceMs: 250 });
  }

  /** Stops the admin feed (the instrumented server keeps running). With `{code, reason}` the
   *  subscribers get a close frame (and `graceMs` to answer it); otherwise they are cut. */
  close(opts) {
    const o = opts || {};
    this.stopped = true;
    clearInterval(this.flushTimer);
    if (this.processTimer) clearInterval(this.processTimer);
    const subs = [...this.subscribers];
    const ended = subs.map(
      (sub) =>
        new Promise((resolve) => {
          const s = sub.socket;
          if (s.readyState === 3) return resolve();
          s.once('close', resolve);
          if (o.code === undefined) return s.terminate();
          s.close(o.code, o.reason);
          setTimeout(() => {
            s.terminate();
            resolve();
          }, o.graceMs || 250).unref();
        })
    );
    return Promise.all(ended).then(
      () =>
        new Promise((resolve) =>
          this.admin.close(() => {
            this.http.close(() => resolve());
            // Requests that are not subscribers (a stranger's, a probe's) do not hold it open.
            if (typeof this.http.closeAllConnections === 'function') this.http.closeAllConnections();
          })
        )
    );
  }
}

module.exports = { WscopeFeed, PROTOCOL, BOOT, DEFAULT_PORT };
