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
//     the only way to find the WebSocket when just the http.Server is instrumented.

const http = require('http');
const { now, byteLength, remoteOf, pathOf, header } = require('./util');

const kWatched = Symbol('wscope.watched');
const kRequest = Symbol('wscope.request');
const kState = Symbol('wscope.state');

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
    return ws[kState] || this.track(ws);
  }

  track(ws, req) {
    if (ws[kState]) return ws[kState];
    // `_socket`: internal, see the top of this file.
    req = req || (ws._socket && ws._socket[kRequest]);
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
    ws[kState] = st;
    this.wrapSocket(ws, st);
    return st;
  }

  /** Observes a WebSocket by wrapping its own methods: adds no listener, so it changes
   *  nothing about how the application's handlers run (an unhandled 'error' still throws). */
  wrapSocket(ws, st) {
    const feed = this.feed;
    const { emit, send, ping, close, terminate } = ws;
    const markServer = () => {
      // `_closeFrameReceived`: internal, see the top of this file.
      if (!st.initiator) st.initiator = ws._closeFrameReceived ? 'client' : 'server';
    };
    ws.close = function (...args) {
      if (st.sentCode === undefined && this.readyState === 1) st.sentCode = args[0];
      markServer();
      return close.apply(this, args);
    };
    ws.terminate = function (...args) {
      markServer();
      return terminate.apply(this, args);
    };
    ws.ping = function (...args) {
      if (this.readyState === 1) feed.pingSent(st);
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
          observe(feed, st, event, data, arguments[2]);
        } catch {
          // Watching must never break the application.
        }
      }
      return emit.apply(this, arguments);
    };
  }

  // ---- upgrades ---------------------------------------------------------------------------

  /** Reads the status line of the first response written on an upgrade socket: 101 means
   *  a WebSocket follows; anything else (or closing with no answer) is a rejection. */
  watchUpgrade(req, socket) {
    if (socket[kWatched]) return;
    socket[kWatched] = true;
    socket[kRequest] = req;
    const source = this;
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

module.exports = { WsSource, isWebSocketServer, isHttpServer, findWebSocket, kState };
