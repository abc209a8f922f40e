'use strict';
// wscope adapter for Node.js `ws` servers: watches an existing WebSocketServer (or the
// http.Server doing its upgrades) and serves the wscope admin feed, protocol 1
// (feed-protocol.md), on its own loopback port. No dependency beyond `ws` itself.

const http = require('http');
const os = require('os');
const { performance } = require('perf_hooks');
const { WebSocketServer } = require('ws');

const PROTOCOL = 1;
const kWatched = Symbol('wscope.watched');
const kRequest = Symbol('wscope.request');

const { Subscriber } = require('./lib/subscriber');
const {
  now,
  byteLength,
  remoteOf,
  pathOf,
  header,
  compact,
  sameToken,
  tokenOf,
  countOpenFds,
} = require('./lib/util');

class WscopeFeed {
  constructor(options) {
    const o = options || {};
    const token = o.token === undefined ? process.env.WSCOPE_TOKEN : o.token;
    if (!token) {
      throw new Error('wscope adapter: a token is required (options.token or WSCOPE_TOKEN)');
    }
    this.token = String(token);
    this.server = o.server || os.hostname();
    this.software = o.software;
    const hb = o.heartbeat;
    if (hb && !(hb.pingIntervalMs > 0)) {
      throw new Error('wscope adapter: heartbeat.pingIntervalMs must be a positive number of ms');
    }
    this.heartbeat = hb
      ? { ping_interval_ms: hb.pingIntervalMs, pong_timeout_ms: hb.pongTimeoutMs || 0 }
      : null;
    this.clientId = o.clientId;
    this.queueLimit = o.queueLimit || 10000;
    this.maxInFlight = o.maxInFlight || 64;
    this.recordTimerFires = o.recordTimerFires !== false;

    this.nextConn = 1;
    this.nextTimer = 1;
    this.conns = new Map(); // id -> state
    this.byWs = new WeakMap(); // WebSocket -> state
    this.timers = new Map(); // id -> timer record
    this.pending = new Set(); // states with unreported messages
    this.subscribers = new Set();

    // Aggregated messages go out within half a second, so reordering stays under a second.
    this.flushTimer = setInterval(() => this.flushAll(), o.aggregateMs || 500);
    this.flushTimer.unref();
    const every = o.processEveryMs === undefined ? 10000 : o.processEveryMs;
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
      this.http.once('listening', () => resolve(this.http.address()));
      this.http.on('error', (err) => {
        // A listen failure rejects `ready`; the instrumented server itself keeps running.
        process.stderr.write(`wscope adapter: admin feed error: ${err.message}\n`);
        reject(err);
      });
    });
    this.ready.catch(() => {});
    // `ws` re-emits the HTTP server's errors here; they are reported above already.
    this.admin.on('error', () => {});
    this.http.listen(o.port === undefined ? 9750 : o.port, o.host || '127.0.0.1');
    this.http.unref();
    this.admin.on('connection', (socket) => this.subscribe(socket));
  }

  /** The feed's address once listening (`{address, port}`). */
  address() {
    return this.http.address();
  }

  // ---- subscribers ------------------------------------------------------------------------

  subscribe(socket) {
    const sub = new Subscriber(socket, this.queueLimit, this.maxInFlight);
    if (socket._socket && typeof socket._socket.unref === 'function') socket._socket.unref();
    this.flushAll();
    sub.push(JSON.stringify(this.hello()));
    sub.push(JSON.stringify(this.snapshot()));
    this.subscribers.add(sub);
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return;
      }
      // A snapshot of a big server is costly: at most one a second per subscriber.
      if (msg && msg.type === 'resync' && Date.now() - sub.lastResync >= 1000) {
        sub.lastResync = Date.now();
        this.flushAll();
        sub.push(JSON.stringify(this.snapshot()));
      }
    });
    socket.on('close', () => this.subscribers.delete(sub));
    socket.on('error', () => {});
  }

  get subscriberCount() {
    return this.subscribers.size;
  }

  hello() {
    return compact({
      type: 'hello',
      ts: now(),
      protocol: PROTOCOL,
      server: this.server,
      software: this.software,
      heartbeat: this.heartbeat,
    });
  }

  snapshot() {
    this.sweepTimers();
    const connections = [];
    for (const st of this.conns.values()) {
      connections.push(
        compact({
          conn: st.id,
          opened: st.opened,
          remote: st.remote,
          user_agent: st.userAgent,
          path: st.path,
          forwarded_for: st.forwardedFor,
          client: st.client,
          subprotocol: st.subprotocol,
          last_activity: new Date(st.lastActivityMs).toISOString(),
          last_ping: st.lastPing,
          last_pong: st.lastPong,
          msgs_in: st.msgsIn,
          msgs_out: st.msgsOut,
          bytes_in: st.bytesIn,
          bytes_out: st.bytesOut,
        })
      );
    }
    const timers = [];
    for (const t of this.timers.values()) {
      timers.push(
        compact({ conn: t.conn, timer: t.id, kind: t.kind, interval_ms: t.intervalMs, started: t.started })
      );
    }
    return { type: 'snapshot', ts: now(), connections, timers };
  }

  emit(event) {
    if (this.subscribers.size === 0) return;
    const line = JSON.stringify(compact(event));
    for (const sub of this.subscribers) sub.push(line);
  }

  emitProcess() {
    this.emit({
      type: 'process',
      ts: now(),
      rss_bytes: process.memoryUsage().rss,
      open_fds: countOpenFds(),
    });
  }

  // ---- connections ------------------------------------------------------------------------

  /** Starts watching one accepted WebSocket; idempotent. */
  track(ws, req) {
    const known = this.byWs.get(ws);
    if (known) return known;
    req = req || (ws._socket && ws._socket[kRequest]);
    const ts = now();
    let client;
    if (this.clientId && req) {
      try {
        client = this.clientId(req) || undefined;
      } catch {
        client = undefined;
      }
    }
    const st = {
      id: `c${this.nextConn++}`,
      ws,
      opened: ts,
      remote: remoteOf(req ? req.socket : ws._socket),
      userAgent: header(req, 'user-agent'),
      path: req ? pathOf(req) : undefined,
      forwardedFor: header(req, 'x-forwarded-for'),
      client: client === undefined ? undefined : String(client),
      subprotocol: ws.protocol || undefined,
      lastActivityMs: Date.now(),
      lastPing: undefined,
      lastPong: undefined,
      pingSentAt: undefined,
      msgsIn: 0,
      msgsOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      pendIn: null,
      pendOut: null,
      // Seen only after the application already closed it (an http.Server-only setup).
      initiator: ws.readyState === 2 ? 'server' : undefined,
    };
    this.conns.set(st.id, st);
    this.byWs.set(ws, st);
    this.emit({
      type: 'open',
      ts,
      conn: st.id,
      remote: st.remote,
      user_agent: st.userAgent,
      path: st.path,
      forwarded_for: st.forwardedFor,
      client: st.client,
      subprotocol: st.subprotocol,
    });
    this.wrapSocket(ws, st);
    return st;
  }

  /** Observes a WebSocket by wrapping its own methods: adds no listener, so it changes
   *  nothing about how the application's handlers run (an unhandled 'error' still throws). */
  wrapSocket(ws, st) {
    const feed = this;
    const { emit, send, ping, close, terminate } = ws;
    const markServer = () => {
      if (!st.initiator) st.initiator = ws._closeFrameReceived ? 'client' : 'server';
    };
    ws.close = function (...args) {
      if (st.sentCode === undefined && this.readyState === this.OPEN) st.sentCode = args[0];
      markServer();
      return close.apply(this, args);
    };
    ws.terminate = function (...args) {
      markServer();
      return terminate.apply(this, args);
    };
    ws.ping = function (...args) {
      if (this.readyState === this.OPEN) {
        feed.flushConn(st);
        const ts = now();
        st.lastPing = ts;
        st.lastActivityMs = Date.now();
        st.pingSentAt = performance.now();
        feed.emit({ type: 'ping', ts, conn: st.id });
      }
      return ping.apply(this, args);
    };
    // `arguments` pass through untouched and cost no allocation: these run per message.
    ws.send = function (data) {
      if (this.readyState === 1) feed.countMessage(st, 'out', byteLength(data));
      return send.apply(this, arguments);
    };
    ws.emit = function (event, data) {
      if (event === 'message') feed.countMessage(st, 'in', byteLength(data));
      else if (event === 'pong' || event === 'error' || event === 'close') {
        try {
          feed.observe(st, event, [data, arguments[2]]);
        } catch {
          // Watching must never break the application.
        }
      }
      return emit.apply(this, arguments);
    };
  }

  observe(st, event, args) {
    switch (event) {
      case 'pong': {
        this.flushConn(st);
        const ts = now();
        st.lastPong = ts;
        st.lastActivityMs = Date.now();
        const rtt =
          st.pingSentAt === undefined ? undefined : Math.round((performance.now() - st.pingSentAt) * 1000) / 1000;
        st.pingSentAt = undefined;
        this.emit({ type: 'pong', ts, conn: st.id, rtt_ms: rtt });
        break;
      }
      case 'error':
        this.emit({ type: 'error', ts: now(), conn: st.id, message: String((args[0] && args[0].message) || args[0]) });
        break;
      case 'close': {
        this.flushConn(st);
        let code = args[0];
        // After a protocol error (a bad frame, a message over maxPayload) `ws` closes with the
        // fitting code (1002, 1007, 1009) but reports 1006, as it stops reading: report the
        // code it sent, which is the one that explains the close.
        if (code === 1006 && st.ws._errorEmitted && typeof st.sentCode === 'number') code = st.sentCode;
        const reason = args[1] ? args[1].toString() : '';
        const initiator = st.initiator || (st.ws._closeFrameReceived ? 'client' : 'none');
        this.conns.delete(st.id);
        st.closed = true;
        this.emit({
          type: 'close',
          ts: now(),
          conn: st.id,
          // A close frame with no status: `ws` says 1005; the protocol says null.
          code: code === 1005 ? null : code,
          reason,
          initiator,
        });
        break;
      }
      default:
    }
  }

  countMessage(st, dir, bytes) {
    const ms = Date.now();
    st.lastActivityMs = ms;
    let p;
    if (dir === 'in') {
      st.msgsIn++;
      st.bytesIn += bytes;
      p = st.pendIn || (st.pendIn = { count: 0, bytes: 0, ms });
    } else {
      st.msgsOut++;
      st.bytesOut += bytes;
      p = st.pendOut || (st.pendOut = { count: 0, bytes: 0, ms });
    }
    p.count++;
    p.bytes += bytes;
    p.ms = ms;
    if (!st.isPending) {
      st.isPending = true;
      this.pending.add(st);
    }
  }

  /** Sends a connection's aggregated messages before anything else about it. */
  flushConn(st) {
    for (const [key, dir] of [
      ['pendIn', 'in'],
      ['pendOut', 'out'],
    ]) {
      const p = st[key];
      if (p) {
        st[key] = null;
        this.emit({
          type: 'message',
          ts: new Date(p.ms).toISOString(),
          conn: st.id,
          dir,
          count: p.count,
          bytes: p.bytes,
        });
      }
    }
    st.isPending = false;
    this.pending.delete(st);
  }

  flushAll() {
    for (const st of [...this.pending]) this.flushConn(st);
    this.sweepTimers();
  }

  // ---- upgrades that fail ------------------------------------------------------------------

  rejected(req, status, reason, remote) {
    this.emit({
      type: 'upgrade_rejected',
      ts: now(),
      remote: remote || remoteOf(req.socket),
      user_agent: header(req, 'user-agent'),
      path: pathOf(req),
      status,
      reason,
    });
  }

  /** Reads the status line of the first response written on an upgrade socket: 101 means
   *  a WebSocket follows; anything else (or closing with no answer) is a rejection. */
  watchUpgrade(req, socket) {
    if (socket[kWatched]) return;
    socket[kWatched] = true;
    socket[kRequest] = req;
    const feed = this;
    const remote = remoteOf(socket);
    let decided = false;
    const decide = (chunk) => {
      if (decided) return;
      decided = true;
      delete socket.write;
      delete socket.end;
      let text = '';
      if (typeof chunk === 'string') text = chunk.slice(0, 1024);
      else if (chunk && chunk.length) text = Buffer.from(chunk).subarray(0, 1024).toString('latin1');
      const m = /^HTTP\/\d\.\d (\d{3})/.exec(text);
      if (m && m[1] === '101') {
        // Without the WebSocketServer (an http.Server was instrumented), find the socket's
        // WebSocket once `ws` has attached it.
        queueMicrotask(() => {
          const ws = findWebSocket(socket);
          if (ws) feed.track(ws, req);
        });
        return;
      }
      const status = m ? Number(m[1]) : undefined;
      const bodyAt = text.indexOf('\r\n\r\n');
      let reason = bodyAt >= 0 ? text.slice(bodyAt + 4, bodyAt + 204).trim() : '';
      if (!reason) reason = status ? http.STATUS_CODES[status] : 'connection closed with no response';
      feed.rejected(req, status, reason, remote);
    };
    socket.write = function (chunk, ...args) {
      decide(chunk);
      return Object.getPrototypeOf(this).write.call(this, chunk, ...args);
    };
    socket.end = function (chunk, ...args) {
      decide(typeof chunk === 'function' ? null : chunk);
      return Object.getPrototypeOf(this).end.call(this, chunk, ...args);
    };
    socket.once('close', () => decide(null));
  }

  /** A plain request that carries WebSocket headers but no `Upgrade` (a proxy stripped it). */
  watchRequest(req, res) {
    if (!header(req, 'sec-websocket-key') && !header(req, 'sec-websocket-version')) return;
    res.once('finish', () =>
      this.rejected(req, res.statusCode, 'a WebSocket request arrived without Upgrade (a proxy may strip it)')
    );
  }

  instrumentHttp(server) {
    if (!server || server[kWatched]) return;
    server[kWatched] = true;
    server.prependListener('upgrade', (req, socket) => this.watchUpgrade(req, socket));
    server.prependListener('request', (req, res) => this.watchRequest(req, res));
  }

  instrumentWss(wss) {
    if (wss[kWatched]) return;
    wss[kWatched] = true;
    const feed = this;
    const handleUpgrade = wss.handleUpgrade;
    // `ws` calls `this.handleUpgrade` for its own servers, and noServer code calls it too.
    wss.handleUpgrade = function (req, socket, head, cb) {
      feed.watchUpgrade(req, socket);
      return handleUpgrade.call(this, req, socket, head, (ws, request) => {
        feed.track(ws, request || req);
        return cb(ws, request);
      });
    };
    this.instrumentHttp(wss.options.server || wss._server);
  }

  // ---- per-connection timers ---------------------------------------------------------------

  startTimer(ws, kind, intervalMs, name) {
    const st = ws ? this.byWs.get(ws) || this.track(ws) : undefined;
    const t = {
      id: name ? `${name}-${this.nextTimer++}` : `t${this.nextTimer++}`,
      conn: st && st.id,
      connState: st,
      kind,
      intervalMs,
      started: now(),
      handle: null,
    };
    this.timers.set(t.id, t);
    this.emit({ type: 'timer', ts: t.started, conn: t.conn, timer: t.id, op: 'start', kind, interval_ms: intervalMs });
    return t;
  }

  fired(t) {
    // A fire after the connection closed is the tell-tale of a leak: always report it.
    if (this.recordTimerFires || (t.connState && t.connState.closed)) {
      this.emit({ type: 'timer', ts: now(), conn: t.conn, timer: t.id, op: 'fire' });
    }
  }

  endTimer(t) {
    if (!this.timers.delete(t.id)) return;
    this.emit({ type: 'timer', ts: now(), conn: t.conn, timer: t.id, op: 'clear' });
  }

  /** Timers cleared with the global clearInterval/clearTimeout, which the feed did not see. */
  sweepTimers() {
    for (const t of [...this.timers.values()]) if (t.handle && t.handle._destroyed) this.endTimer(t);
  }

  /** `setInterval` tied to a connection: the timer shows in wscope, and one still firing after
   *  its connection closed shows as a leak suspect. Clear it with `feed.clearInterval`. */
  setInterval(ws, fn, ms, opts) {
    const o = opts || {};
    const t = this.startTimer(ws, o.kind || 'interval', ms, o.name);
    const args = o.args || [];
    t.handle = setInterval(() => {
      this.fired(t);
      fn(...args);
    }, ms);
    t.handle.wscopeTimer = t;
    return t.handle;
  }

  setTimeout(ws, fn, ms, opts) {
    const o = opts || {};
    const t = this.startTimer(ws, o.kind || 'timeout', ms, o.name);
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

  /** Stops the admin feed (the instrumented server keeps running). */
  close() {
    clearInterval(this.flushTimer);
    if (this.processTimer) clearInterval(this.processTimer);
    for (const sub of this.subscribers) sub.socket.terminate();
    return new Promise((resolve) => this.admin.close(() => this.http.close(() => resolve())));
  }
}

function findWebSocket(socket) {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'websocket');
  return sym ? socket[sym] : undefined;
}

/**
 * Instruments `target` and serves the admin feed.
 *
 * `target` is a `ws` WebSocketServer (standalone, `{server}` or `noServer`), or the
 * `http.Server` whose upgrades it handles. For a noServer WebSocketServer, pass the http.Server
 * as `options.httpServer` too, so that upgrades your own code rejects are seen.
 *
 * Options: `token` (required; default env WSCOPE_TOKEN), `host` ('127.0.0.1'), `port` (9750;
 * 0 picks one), `server` (name, default hostname), `software`, `heartbeat`
 * (`{pingIntervalMs, pongTimeoutMs}` of your server's pings), `clientId(req)` (an application
 * identity), `queueLimit` (events queued per subscriber, 10000), `recordTimerFires` (true).
 */
function attach(target, options) {
  const o = options || {};
  const feed = new WscopeFeed(o);
  if (target instanceof WebSocketServer || (target && typeof target.handleUpgrade === 'function')) {
    feed.instrumentWss(target);
  } else if (target instanceof http.Server || (target && typeof target.on === 'function')) {
    feed.instrumentHttp(target);
  } else {
    throw new Error('wscope adapter: attach() needs a ws WebSocketServer or an http.Server');
  }
  if (o.wss) feed.instrumentWss(o.wss);
  if (o.httpServer) feed.instrumentHttp(o.httpServer);
  return feed;
}

module.exports = { attach, WscopeFeed, PROTOCOL };
