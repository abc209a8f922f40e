'use strict';
// Small helpers of wscope-node: request fields, sizes, times, tokens.

const fs = require('fs');
const crypto = require('crypto');

const now = () => new Date().toISOString();

/** Byte length of anything `ws` sends or delivers (string, Buffer, ArrayBuffer, fragments). */
function byteLength(data) {
  // Buffers first, by `length`: the `byteLength` getter costs 5 times as much, per message.
  if (data instanceof Uint8Array) return data.length;
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (data == null) return 0;
  if (Array.isArray(data)) return data.reduce((n, d) => n + byteLength(d), 0);
  if (typeof data.byteLength === 'number') return data.byteLength;
  return 0;
}

/** `ip:port`, with IPv6 in brackets and IPv4-mapped addresses unwrapped. */
function remoteOf(socket) {
  if (!socket) return undefined;
  let ip = socket.remoteAddress;
  if (!ip) return undefined;
  if (ip.startsWith('::ffff:') && ip.includes('.')) ip = ip.slice(7);
  return ip.includes(':') ? `[${ip}]:${socket.remotePort}` : `${ip}:${socket.remotePort}`;
}

/** The path without its query string: queries often carry tokens. */
function pathOf(req) {
  const url = (req && req.url) || '';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function header(req, name) {
  const v = req && req.headers && req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v || undefined;
}

/** Drops undefined fields so that the JSON only carries what is known. */
function compact(obj) {
  for (const k of Object.keys(obj)) if (obj[k] === undefined) delete obj[k];
  return obj;
}

function sameToken(given, expected) {
  if (typeof given !== 'string') return false;
  // Hashing first makes the comparison constant-time whatever the lengths.
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

function tokenOf(req) {
  const auth = header(req, 'authorization');
  if (auth && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  const url = new URL(req.url || '/', 'http://feed.invalid');
  return url.searchParams.get('token') || undefined;
}

/** `true` when the subscriber's upgrade request opts out of history (`?history=0` or the
 *  header `X-Wscope-History: 0`). */
function historyOptOut(req) {
  const h = header(req, 'x-wscope-history');
  if (h !== undefined && h.trim() === '0') return true;
  const url = new URL((req && req.url) || '/', 'http://feed.invalid');
  return url.searchParams.get('history') === '0';
}

/** `X-Wscope-History-Since`: a reconnecting subscriber's last event time, if it sent one. */
function historySince(req) {
  const h = header(req, 'x-wscope-history-since');
  return h === undefined ? undefined : h.trim();
}

/** Parses `HOST:PORT` (`[v6]:PORT` for IPv6), as in `WSCOPE_ADMIN_ADDR`. */
function parseAddr(text) {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(String(text).trim());
  if (!m || Number(m[3]) > 65535) {
    throw new Error(`wscope: WSCOPE_ADMIN_ADDR must be HOST:PORT (e.g. 127.0.0.1:9300), not ${JSON.stringify(text)}`);
  }
  return { host: m[1] || m[2] || '127.0.0.1', port: Number(m[3]) };
}

function countOpenFds() {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

module.exports = {
  now,
  byteLength,
  remoteOf,
  pathOf,
  header,
  compact,
  sameToken,
  tokenOf,
  historyOptOut,
  historySince,
  parseAddr,
  countOpenFds,
};
