'use strict';
// wscope-node: serves the wscope admin feed (feed protocol 1 and this project's extensions)
// from a Node.js `ws` or Socket.IO 4 server. See README.md and index.d.ts.
//
// The package does not `require('ws')` where it can avoid it: it takes the `ws` classes from
// the server it instruments (a WebSocketServer, or the one inside Socket.IO's engine), and only
// when there is none (an http.Server alone) resolves `ws` from the application (its main
// module's folder, then the working directory). `npm install /path/to/this` makes a symlink,
// from whose real path a plain `require('ws')` would not find the application's `ws`.

const path = require('path');
const { EventEmitter } = require('events');
const { WscopeFeed, PROTOCOL, BOOT, DEFAULT_PORT } = require('./lib/feed');
const { WsSource, isWebSocketServer, isHttpServer, wsStateOf } = require('./lib/ws');
const { SocketIoSource, isSocketIoServer } = require('./lib/socketio');

/** The class a `ws` WebSocketServer instance was made from (its base, if the app subclassed). */
function baseClassOf(wss) {
  let proto = Object.getPrototypeOf(wss);
  while (proto) {
    const parent = Object.getPrototypeOf(proto);
    if (!parent || parent === EventEmitter.prototype || parent === Object.prototype) break;
    proto = parent;
  }
  return proto && proto.constructor;
}

/** `ws` as the application sees it. */
function requireWsFromApp() {
  const paths = [];
  if (require.main && require.main.filename) paths.push(path.dirname(require.main.filename));
  paths.push(process.cwd());
  let resolved;
  try {
    resolved = require.resolve('ws', { paths });
  } catch {
    // Installed as a copy (a tarball, `--install-links`): `ws` is beside the package.
    resolved = require.resolve('ws');
  }
  return require(resolved);
}

/** The `ws` WebSocketServer class the admin feed's endpoint is made with. */
function adminServerClass(target, o) {
  if (o.ws) return o.ws.WebSocketServer || o.ws.Server;
  for (const x of [target, o.wss]) if (isWebSocketServer(x)) return baseClassOf(x);
  if (isSocketIoServer(target) && target.engine && isWebSocketServer(target.engine.ws)) {
    return baseClassOf(target.engine.ws);
  }
  const ws = requireWsFromApp();
  return ws.WebSocketServer || ws.Server;
}

/**
 * Instruments `target` (a `ws` WebSocketServer, the http.Server doing its upgrades, or a
 * Socket.IO 4 Server) and serves the admin feed. Returns the feed.
 */
function instrument(target, options) {
  const o = options || {};
  const isIo = isSocketIoServer(target);
  if (!isIo && !isWebSocketServer(target) && !isHttpServer(target)) {
    throw new TypeError('wscope: instrument() needs a ws WebSocketServer, an http.Server or a socket.io Server');
  }
  const feed = new WscopeFeed(o, adminServerClass(target, o));
  const sources = [];
  let ws;
  const wsSource = () => ws || (sources.push((ws = new WsSource(feed))), ws);
  if (isIo) sources.push(new SocketIoSource(feed, target));
  else if (isWebSocketServer(target)) wsSource().instrumentWss(target);
  else wsSource().instrumentHttp(target);
  if (o.wss) wsSource().instrumentWss(o.wss);
  if (o.httpServer) wsSource().instrumentHttp(o.httpServer);
  feed.lookup = (handle) => {
    if (!handle || typeof handle !== 'object') return undefined;
    for (const s of sources) {
      const st = s instanceof WsSource ? wsStateOf(handle) : s.stateOf(handle);
      if (st) return st;
    }
    // A `ws` WebSocket not seen yet (handed over before its upgrade was noticed).
    if (!isIo && typeof handle.ping === 'function' && typeof handle.terminate === 'function') {
      return wsSource().state(handle);
    }
    return undefined;
  };
  return feed;
}

let warned = false;
/** @deprecated since 0.2.0: use `instrument`. */
function attach(target, options) {
  if (!warned) {
    warned = true;
    process.emitWarning('wscope-node: attach() is deprecated, use instrument() (same arguments)', {
      type: 'DeprecationWarning',
      code: 'WSCOPE_ATTACH',
    });
  }
  return instrument(target, options);
}

module.exports = { instrument, attach, WscopeFeed, PROTOCOL, BOOT, DEFAULT_PORT };
