'use strict';
// The history a late subscriber is sent first (assets/spec/feed-protocol-extensions.md,
// "History for a late subscriber"): a bounded ring of the serialised events the feed emitted,
// and the state at the history's start, kept up to date as the oldest events are evicted.

/** Event kinds that change the state a snapshot describes; only these are parsed on eviction. */
const STATEFUL = new Set(['open', 'close', 'message', 'ping', 'pong', 'timer']);

class History {
  /** `maxMs`: age limit of the oldest event; `maxBytes`: limit of the serialised events. */
  constructor(maxMs, maxBytes) {
    this.maxMs = maxMs;
    this.maxBytes = maxBytes;
    this.lines = [];
    this.meta = []; // per line: [emitted at (ms), ts string, bytes, type]
    this.head = 0;
    this.bytes = 0;
    this.evicted = 0;
    // The state at the history's start: what the events evicted so far left open.
    this.conns = new Map(); // conn id -> snapshot entry
    this.timers = new Map(); // timer id -> snapshot entry
  }

  get length() {
    return this.lines.length - this.head;
  }

  push(type, ts, line) {
    const bytes = Buffer.byteLength(line);
    const at = Date.now();
    this.lines.push(line);
    this.meta.push([at, ts, bytes, type]);
    this.bytes += bytes;
    this.trim(at);
  }

  /** Evicts what is older than `maxMs` or over `maxBytes`, oldest first. */
  trim(at) {
    const oldest = at - this.maxMs;
    while (this.length > 0 && (this.bytes > this.maxBytes || this.meta[this.head][0] < oldest)) {
      this.evictOne();
    }
    if (this.head > 4096 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.meta = this.meta.slice(this.head);
      this.head = 0;
    }
  }

  evictOne() {
    const line = this.lines[this.head];
    const [, , bytes, type] = this.meta[this.head];
    this.lines[this.head] = undefined;
    this.meta[this.head] = undefined;
    this.head++;
    this.bytes -= bytes;
    this.evicted++;
    if (STATEFUL.has(type)) this.apply(JSON.parse(line));
  }

  /** Moves the state at the history's start past one evicted event. */
  apply(e) {
    switch (e.type) {
      case 'open': {
        const c = { ...e, opened: e.ts, last_activity: e.ts, msgs_in: 0, msgs_out: 0, bytes_in: 0, bytes_out: 0 };
        delete c.type;
        delete c.ts;
        delete c.server;
        this.conns.set(e.conn, c);
        break;
      }
      case 'close':
        this.conns.delete(e.conn);
        break;
      case 'message': {
        const c = this.conns.get(e.conn);
        if (!c) break;
        const n = e.count === undefined ? 1 : e.count;
        if (e.dir === 'in') {
          c.msgs_in += n;
          c.bytes_in += e.bytes || 0;
        } else {
          c.msgs_out += n;
          c.bytes_out += e.bytes || 0;
        }
        c.last_activity = e.ts;
        break;
      }
      case 'ping':
      case 'pong': {
        const c = this.conns.get(e.conn);
        if (!c) break;
        c[e.type === 'ping' ? 'last_ping' : 'last_pong'] = e.ts;
        c.last_activity = e.ts;
        break;
      }
      case 'timer':
        if (e.op === 'start') {
          const t = { conn: e.conn, timer: e.timer, kind: e.kind, interval_ms: e.interval_ms, started: e.ts };
          for (const k of Object.keys(t)) if (t[k] === undefined) delete t[k];
          this.timers.set(e.timer, t);
        } else if (e.op === 'clear') {
          this.timers.delete(e.timer);
        }
        break;
      default:
    }
  }

  /**
   * What a new subscriber is sent before the present: `undefined` when there is no history,
   * else `{from, snapshot, lines}` (`snapshot`: the state at `from`, serialised; `lines`: the
   * events since, serialised, in emission order). With `since` (the RFC 3339 time of the last
   * event a reconnecting subscriber heard), only the events after it; those up to it are
   * folded into the snapshot, so nothing the subscriber counted comes again.
   */
  replay(since) {
    this.trim(Date.now());
    if (this.length === 0) return undefined;
    let from = this.meta[this.head][1];
    let start = this.head;
    let base = this;
    const sinceMs = since === undefined ? NaN : Date.parse(since);
    if (!Number.isNaN(sinceMs)) {
      base = Object.create(History.prototype);
      base.conns = new Map([...this.conns].map(([k, v]) => [k, { ...v }]));
      base.timers = new Map([...this.timers].map(([k, v]) => [k, { ...v }]));
      while (start < this.lines.length && Date.parse(this.meta[start][1]) <= sinceMs) {
        if (STATEFUL.has(this.meta[start][3])) base.apply(JSON.parse(this.lines[start]));
        start++;
      }
      from = since;
    }
    const snapshot = JSON.stringify({
      type: 'snapshot',
      ts: from,
      connections: [...base.conns.values()],
      timers: [...base.timers.values()],
    });
    return { from, snapshot, lines: this.lines.slice(start) };
  }
}

module.exports = { History };
