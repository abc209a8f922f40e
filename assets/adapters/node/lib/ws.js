'use strict';
// Watching a `ws` (8.x) server: its WebSocketServer (standalone, `{server}` or `noServer`), or
// the http.Server doing its upgrades.
//
// Internal fields of `ws` read here, each where `ws` has no public event or property, all
// present from ws 8.17.1 (the oldest version claimed) to 8.23.1 (the newest tested), and
// covered by test/ws.test.js run against both (`npm test`):
//   - `WebSocket#_closeFrameReceived`: whether the peer's close frame arrived, which is how
//     the feed tells a client-initiated close from a vanished transport (`initiator`);
//   - `WebSocket#_socket`: the TCP socket, for `remote` when no request is known (a WebSocket
//     handed to the feed before its upgrade was seen);
//   - the `Symbol('websocket')` property `ws` puts on an upgraded net.Socket (`kWebSocket`):
//     the only way to find the WebSocket when just the http.Server is instrumented;
//   - `WebSocketServer#_server`: the http.Server a standalone `{port}` server made itself, to
//     see the upgrades it refuses (a `{server}` one's is the public `options.server`).

const http = require('http');
const { now, byteLength, remoteOf, pathOf, header } = require('./util');

const kWatched = Symbol('wscope.watched');

// Per-object state lives in WeakMaps, not in properties: a property added to a WebSocket or a
// net.Socket after its construction gives it another hidden class, and `ws`'s hot paths then
// see several (measured: 20 % more CPU per echoed message with per-instance wrappers).
const states = new WeakMap(); // WebSocket -> connection state
const requests = new WeakMap(); // upgraded net.Socket -> its request
const patched = new WeakSet(); // WebSocket prototypes whose methods observe

/**
 * Observes the WebSockets of one `ws` class by wrapping its prototype's methods once: every
 * instance keeps its hidden class, untracked ones (clients, the feed's own subscribers) only
 * pay a WeakMap lookup. Adds no listener, so it changes nothing about how the application's
 * handlers run (an unhandled 'error' still throws).
 */
function patchPrototype(proto) {
  if (!proto || patched.has(proto)) return;
  patched.add(proto);
  const { emit, send, ping, close, terminate } = proto;
  const markServer = (ws, st) => {
    // `_closeFrameReceived`: internal, see the top of this file.
    if (!st.initiator) st.initiator = ws._closeFrameReceived ? 'client' : 'server';
  };
  proto.close = function (code, reason) {
    const st = states.get(this);
    if (st !== undefined) {
      if (st.sentCode === undefined && this.readyState === 1) st.sentCode = code;
      markServer(this, st);
    }
    return close.apply(this, arguments);
  };
  proto.terminate = function () {
    const st = states.get(this);
    if (st !== undefined) markServer(this, st);
    return terminate.apply(this, arguments);
  };
  proto.ping = function () {
    const st = states.get(this);
    if (st !== undefined && this.readyState === 1) st.feed.pingSent(st);
    return ping.apply(this, arguments);
  };
  // These two run per message: fixed arities (`send(data, options, cb)`, `emit('message',
  // data, isBinary)`), nothing allocated, and the WeakMap (about 20 ns a lookup) asked only
  // when the WebSocket is not the one of the last message: one read brings several messages of
  // one connection, and a reply usually goes back on it.
  proto.send = function (data, options, cb) {
    const st = messageState(this);
    if (st !== undefined && this.readyState === 1) st.feed.count(st, st.outbound, byteLength(data));
    return send.call(this, data, options, cb);
  };
  proto.emit = function (event, data, extra) {
    if (event === 'message') {
      const st = messageState(this);
      if (st !== undefined) st.feed.count(st, st.inbound, byteLength(data));
      return emit.call(this, event, data, extra);
    }
    if (event === 'close' && this === lastWs) {
      // Holding the last WebSocket must not keep a closed one alive.
      lastWs = null;
      lastState = undefined;
    }
    if (event === 'pong' || event === 'error' || event === 'close') {
      const st = states.get(this);
      if (st !== undefined) {
        try {
          observe(st.feed, st, event, data, extra);
        } catch {
          // Watching must never break the application.
        }
      }
    }
    return emit.apply(this, arguments);
  };
}

// The WebSocket of the last counted message and its state (`undefined`: not tracked).
let lastWs = null;
let lastState;
function messageState(ws) {
  if (ws !== lastWs) {
    lastWs = ws;
    lastState = states.get(ws);
  }
  return lastState;
}

/** The connection state of a tracked `ws` WebSocket. */
const wsStateOf = (ws) => states.get(ws);

function isWebSocketServer(x) {
  return !!x && typeof x.handleUpgrade === 'function' && typeof x.shouldHandle === 'function';
}

function isHttpServer(x) {
  return x instanceof http.Server || (!!x && typeof x.on === 'function' && typeof x.listen === 'function');
}

/** ws's kWebSocket symbol on an upgraded net.Socket (internal; see the top of this file). */
function findWebSocket(socket) {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'websocket');
  return sym ? socket[sym] : undefined;
}

class WsSource {
  constructor(feed) {
    this.feed = feed;
  }

  /** The state of one WebSocket: tracked on first sight (idempotent). */
  state(ws) {
    return states.get(ws) || this.track(ws);
  }

  track(ws, req) {
    const known = states.get(ws);
    if (known) return known;
    // `_socket`: internal, see the top of this file.
    req = req || (ws._socket && requests.get(ws._socket));
    const st = this.feed.openConn({
      handle: ws,
      req,
      remote: remoteOf(req ? req.socket : ws._socket),
      userAgent: header(req, 'user-agent'),
      path: req ? pathOf(req) : undefined,
      forwardedFor: header(req, 'x-forwarded-for'),
      subprotocol: ws.protocol || undefined,
      // Seen only after the application already closed it (an http.Server-only setup).
      initiator: ws.readyState === 2 ? 'server' : undefined,
      close: (code, reason) => ws.close(code, reason),
      kill: () => ws.terminate(),
    });
    st.ws = ws;
    st.feed = this.feed;
    states.set(ws, st);
    // A message counted before the WebSocket was tracked left it as the last one, untracked.
    if (lastWs === ws) lastState = st;
    patchPrototype(Object.getPrototypeOf(ws));
    return st;
  }

  // ---- upgrades ---------------------------------------------------------------------------

  /** Reads the status line of the first response written on an upgrade socket: 101 means
   *  a WebSocket follows; anything else (or closing with no answer) is a rejection. */
  watchUpgrade(req, socket) {
    if (requests.has(socket)) return;
    requests.set(socket, req);
    const source = this;
    const remote = remoteOf(socket);
    let decided = false;
    const restore = observeFirstWrite(socket, (chunk) => decide(chunk));
    const decide = (chunk) => {
      if (decided) return;
      decided = true;
      restore();
      let text = '';
      if (typeof chunk === 'string') text = chunk.slice(0, 1024);
      else if (chunk && chunk.length) text = Buffer.from(chunk).subarray(0, 1024).toString('latin1');
      const m = /^HTTP\/\d\.\d (\d{3})/.exec(text);
      if (m && m[1] === '101') {
        // Without the WebSocketServer (an http.Server was instrumented), find the socket's
        // WebSocket once `ws` has attached it.
        queueMicrotask(() => {
          const ws = findWebSocket(socket);
          if (ws) source.track(ws, req);
        });
        return;
      }
      const status = m ? Number(m[1]) : undefined;
      const bodyAt = text.indexOf('\r\n\r\n');
      let reason = bodyAt >= 0 ? text.slice(bodyAt + 4, bodyAt + 204).trim() : '';
      if (!reason) reason = status ? http.STATUS_CODES[status] : 'connection closed with no response';
      source.rejected(req, status, reason, remote);
    };
    socket.once('close', () => decide(null));
  }

  rejected(req, status, reason, remote) {
    this.feed.rejected({
      remote: remote || remoteOf(req.socket),
      user_agent: header(req, 'user-agent'),
      path: pathOf(req),
      status,
      reason,
    });
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
    const source = this;
    const handleUpgrade = wss.handleUpgrade;
    // `ws` calls `this.handleUpgrade` for its own servers, and noServer code calls it too.
    wss.handleUpgrade = function (req, socket, head, cb) {
      source.watchUpgrade(req, socket);
      return handleUpgrade.call(this, req, socket, head, (ws, request) => {
        source.track(ws, request || req);
        return cb(ws, request);
      });
    };
    // `options.server` is public (the constructor's option as given); `_server` is the http.Server
    // a standalone `{port}` WebSocketServer made itself (internal, ws 8.17.1 to 8.23.1).
    this.instrumentHttp(wss.options.server || wss._server);
  }
}

/**
 * Calls `seen(chunk)` before the first `write` or `end` on `socket` (the response to its
 * upgrade); returns the function that stops observing. The two methods are own properties
 * for that while only: removed in the reverse order of their addition, V8 returns the socket
 * to the hidden class every other socket has (checked by test/ws.test.js). Left in place (as
 * prototype methods), they would give upgraded sockets a class of their own, and the streams'
 * code they run through, shared with every other socket of the process, would see one more.
 * Where something else added own properties in the meantime, or the socket had its own
 * `write` or `end`, deleting would make it a slow dictionary object: those are put back instead.
 */
function observeFirstWrite(socket, seen) {
  const proto = Object.getPrototypeOf(socket);
  const own = { write: Object.getOwnPropertyDescriptor(socket, 'write'), end: Object.getOwnPropertyDescriptor(socket, 'end') };
  const keysBefore = Reflect.ownKeys(socket).length;
  const write = own.write ? own.write.value : proto.write;
  const end = own.end ? own.end.value : proto.end;
  socket.write = function (chunk, ...args) {
    seen(chunk);
    return write.call(this, chunk, ...args);
  };
  socket.end = function (chunk, ...args) {
    seen(typeof chunk === 'function' ? null : chunk);
    return end.call(this, chunk, ...args);
  };
  return () => {
    // Nothing added since (and none of them there before): `end`, then `write`, are the last.
    if (!own.write && !own.end && Reflect.ownKeys(socket).length === keysBefore + 2) {
      delete socket.end;
      delete socket.write;
    } else {
      socket.write = write;
      socket.end = end;
    }
  };
}

function observe(feed, st, event, data, extra) {
  switch (event) {
    case 'pong':
      feed.pongReceived(st);
      break;
    case 'error':
      st.protocolError = true;
      feed.connError(st, (data && data.message) || data);
      break;
    case 'close': {
      let code = data;
      // After a protocol error (a bad frame, a message over maxPayload) `ws` closes with the
      // fitting code (1002, 1007, 1009) but reports 1006, as it stops reading: report the
      // code it sent, which is the one that explains the close.
      if (code === 1006 && st.protocolError && typeof st.sentCode === 'number') code = st.sentCode;
      const reason = extra ? extra.toString() : '';
      // `_closeFrameReceived`: internal, see the top of this file.
      const initiator = st.initiator || (st.ws._closeFrameReceived ? 'client' : 'none');
      feed.closeConn(st, code, reason, initiator);
      break;
    }
    default:
  }
}

module.exports = { WsSource, isWebSocketServer, isHttpServer, findWebSocket, wsStateOf };
