'use strict';
// Watching a Socket.IO 4 server: one wscope connection per Engine.IO connection (whatever its
// namespaces), its messages, Engine.IO's heartbeat as ping/pong, and its close.
//
// Public API used: `io.engine` (the Engine.IO server) and its `connection`,
// `connection_error` events and `opts` (pingInterval, pingTimeout); an Engine.IO socket's
// `request`, `transport.name`, and its `packet`, `packetCreate`, `upgrade`, `close` events;
// `io.sockets` and the `new_namespace` event; a Socket.IO socket's `conn` and `disconnect`.
//
// Internal fields read, each where Socket.IO has no public way, all present from socket.io
// 4.1.0 (engine.io 5.1, its ws 7.4: the oldest claimed; 4.0 has no `connection_error`) to 4.8.x
// (engine.io 6.6, ws 8), covered by test/socketio.test.js run against both (`npm test`):
//   - `io._nsps`: the namespaces created before `instrument()` (later ones arrive through
//     `new_namespace`), to learn the Socket.IO reason of a disconnect;
//   - `engineSocket.transport.socket`: the `ws` WebSocket of the websocket transport, for the
//     real close code (Engine.IO reports only "transport close"), and to close it with a code
//     on `feed.shutdown()`; its `_closeFrameReceived` as in ws.js, and `_closeCode` /
//     `_closeMessage` (ws 7.4 to 8.23.1): the peer's close frame when Engine.IO ends the
//     connection before `ws` emits `close` (a ping written after the client's close frame
//     fails, and Engine.IO reports "transport error");
//   - `io.bind`: wrapped when the Server has no engine yet (`new Server()` then `io.listen()`).

const { byteLength, remoteOf, pathOf, header } = require('./util');

// State kept in WeakMaps, not in properties: a property added to an Engine.IO socket or its
// `ws` WebSocket after their construction gives them another hidden class, and the code that
// runs per packet then sees two (as in ws.js).
const states = new WeakMap(); // Engine.IO socket -> connection state
const watched = new WeakSet(); // Engine.IO servers and transport WebSockets already watched

function isSocketIoServer(x) {
  return !!x && typeof x.of === 'function' && typeof x.use === 'function' && !!x.sockets && typeof x.sockets.on === 'function';
}

/** Status of an Engine.IO `connection_error` code (engine.io's own answers). */
const ERROR_STATUS = { 0: 400, 1: 400, 2: 400, 3: 400, 4: 403, 5: 400 };

class SocketIoSource {
  constructor(feed, io) {
    this.feed = feed;
    this.io = io;
    feed.heartbeatSource = () => {
      const opts = io.engine && io.engine.opts;
      if (!opts || !(opts.pingInterval > 0)) return null;
      return { ping_interval_ms: opts.pingInterval, pong_timeout_ms: opts.pingTimeout || 0 };
    };
    if (io.engine) this.watchEngine(io.engine);
    else {
      // `new Server()` with no http server yet: the engine comes with `attach`/`listen`, which
      // call `bind(engine)`.
      const bind = io.bind;
      const source = this;
      io.bind = function (engine) {
        const r = bind.apply(this, arguments);
        source.watchEngine(engine);
        return r;
      };
    }
    // Socket.IO's own reason of a disconnect (it comes before the Engine.IO close, which then
    // says only "forced close" or "transport close").
    const watchNsp = (nsp) => {
      nsp.on('connection', (socket) => {
        socket.on('disconnect', (reason) => {
          const st = socket.conn && states.get(socket.conn);
          if (st) st.sioReason = reason;
        });
      });
    };
    const nsps = io._nsps instanceof Map ? [...io._nsps.values()] : [io.sockets];
    for (const nsp of nsps) watchNsp(nsp);
    io.sockets.on('new_namespace', watchNsp);
  }

  /** The state of an Engine.IO socket, or of a Socket.IO socket's (its `conn`). */
  stateOf(handle) {
    if (!handle) return undefined;
    return states.get(handle) || (handle.conn ? states.get(handle.conn) : undefined);
  }

  watchEngine(engine) {
    if (watched.has(engine)) return;
    watched.add(engine);
    engine.on('connection', (socket) => this.track(socket));
    engine.on('connection_error', (err) => {
      const req = err && err.req;
      this.feed.rejected({
        remote: req ? remoteOf(req.socket) : undefined,
        user_agent: header(req, 'user-agent'),
        path: req ? pathOf(req) : undefined,
        status: ERROR_STATUS[err.code] || 400,
        reason: String(err.message || 'Engine.IO refused the connection'),
      });
    });
  }

  track(socket) {
    const feed = this.feed;
    const req = socket.request;
    const st = feed.openConn({
      handle: socket,
      req,
      remote: (req && remoteOf(req.socket)) || socket.remoteAddress,
      userAgent: header(req, 'user-agent'),
      path: req ? pathOf(req) : undefined,
      forwardedFor: header(req, 'x-forwarded-for'),
      close: (code, reason) => {
        const ws = wsOf(socket);
        // The websocket transport: close it with the code itself, so that the close frame on
        // the wire carries it and the client's answer comes back as a real close.
        if (ws && ws.readyState === 1) ws.close(code, reason);
        else socket.close();
      },
      kill: () => {
        const ws = wsOf(socket);
        if (ws) ws.terminate();
        socket.close(true);
      },
    });
    states.set(socket, st);
    this.watchTransport(socket, st);
    socket.on('upgrade', () => this.watchTransport(socket, st));
    socket.on('packet', (packet) => {
      if (packet.type === 'message') feed.count(st, st.inbound, byteLength(packet.data));
      else if (packet.type === 'pong') feed.pongReceived(st);
    });
    socket.on('packetCreate', (packet) => {
      if (packet.type === 'message') feed.count(st, st.outbound, byteLength(packet.data));
      else if (packet.type === 'ping') feed.pingSent(st);
    });
    socket.on('close', (reason, description) => this.closed(st, reason, description));
    return st;
  }

  /** Learns the close code of the websocket transport's `ws` socket (internal, see the top). */
  watchTransport(socket, st) {
    const ws = wsOf(socket);
    if (!ws || watched.has(ws) || typeof ws.prependListener !== 'function') return;
    watched.add(ws);
    st.ws = ws;
    // Prepended: `ws`'s close reaches Engine.IO first otherwise, which reports "transport
    // close" before this listener could note the code.
    ws.prependListener('close', (code, reason) => {
      st.wsClose = { code, reason: reason ? reason.toString() : '', peerClosed: !!ws._closeFrameReceived };
    });
    const f = this.feed;
    ws.prependListener('error', (err) => f.connError(st, (err && err.message) || err));
  }

  closed(st, engineReason, description) {
    const why = st.sioReason || engineReason;
    let ws = st.wsClose;
    if (!ws && st.ws && st.ws._closeFrameReceived) {
      // The client's close frame came, `ws` has not emitted `close` yet (internal, see the top).
      const m = st.ws._closeMessage;
      ws = { code: st.ws._closeCode, reason: m && m.length ? m.toString() : '', peerClosed: true };
    }
    if (st.shutdown && !ws) {
      // feed.shutdown() on a polling transport: Engine.IO has no close code; say the one asked.
      return this.feed.closeConn(st, st.shutdown.code, st.shutdown.reason, 'server');
    }
    if (ws) {
      // The WebSocket transport ended first: its code is the one on the wire (1005: a close
      // frame with no status, which Engine.IO clients send on disconnect()).
      const initiator = st.shutdown ? 'server' : ws.peerClosed ? 'client' : 'none';
      return this.feed.closeConn(st, ws.code, ws.reason || why, initiator);
    }
    let code;
    let initiator;
    switch (why) {
      case 'ping timeout':
        // The heartbeat was missed: the server gives up on a client that stopped answering.
        code = 1006;
        initiator = 'server';
        break;
      case 'server shutting down':
        code = 1001;
        initiator = 'server';
        break;
      case 'server namespace disconnect':
      case 'forced close':
      case 'forced server close':
        code = 1000;
        initiator = 'server';
        break;
      case 'client namespace disconnect':
        code = 1000;
        initiator = 'client';
        break;
      case 'parse error':
        code = 1002;
        initiator = 'server';
        break;
      default:
        // 'transport close' and 'transport error' with no WebSocket code: the transport ended.
        code = 1006;
        initiator = 'none';
    }
    const detail = description && description.message ? `${why}: ${description.message}` : why;
    this.feed.closeConn(st, code, detail, initiator);
  }
}

/** The `ws` WebSocket of an Engine.IO socket's websocket transport (internal, see the top). */
function wsOf(socket) {
  const t = socket && socket.transport;
  if (!t || t.name !== 'websocket') return undefined;
  const ws = t.socket;
  return ws && typeof ws.close === 'function' && typeof ws.terminate === 'function' ? ws : undefined;
}

module.exports = { SocketIoSource, isSocketIoServer };
