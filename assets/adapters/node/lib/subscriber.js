'use strict';
// One admin-feed subscriber's queue: bounded, so that a slow wscope never slows the server.

const { now } = require('./util');

/**
 * One admin-feed subscriber. What it is sent first (`backlog`: hello, the history and the
 * present snapshot, all made at attach time) is sent from an array of the already serialised
 * lines, which it shares with the feed's history: it costs no copy. Live events then go through
 * a bounded queue; what does not fit is counted and reported in a `dropped` event.
 */
class Subscriber {
  constructor(socket, limit, maxInFlight, backlog) {
    this.socket = socket;
    this.limit = limit;
    this.maxInFlight = maxInFlight;
    this.backlog = backlog || [];
    this.backlogAt = 0;
    this.queue = [];
    this.head = 0;
    this.inFlight = 0;
    this.dropped = 0;
    this.lastResync = 0;
    this.waiters = [];
  }

  get queued() {
    return this.queue.length - this.head;
  }

  /** Events not yet handed to the kernel. */
  get pending() {
    return this.backlog.length - this.backlogAt + this.queued + this.inFlight;
  }

  push(line) {
    if (this.queued >= this.limit) {
      this.dropped++;
      return;
    }
    this.noteDropped();
    this.queue.push(line);
    this.pump();
  }

  /** Puts the count of dropped events in the queue once there is room for it. */
  noteDropped() {
    if (this.dropped > 0 && this.queued < this.limit) {
      this.queue.push(JSON.stringify({ type: 'dropped', ts: now(), count: this.dropped }));
      this.dropped = 0;
    }
  }

  next() {
    if (this.backlogAt < this.backlog.length) {
      const line = this.backlog[this.backlogAt];
      this.backlog[this.backlogAt++] = undefined;
      if (this.backlogAt === this.backlog.length) {
        this.backlog = [];
        this.backlogAt = 0;
      }
      return line;
    }
    if (this.queued === 0) return undefined;
    const line = this.queue[this.head];
    this.queue[this.head++] = undefined;
    return line;
  }

  pump() {
    while (this.inFlight < this.maxInFlight) {
      if (this.socket.readyState !== 1) break;
      const line = this.next();
      if (line === undefined) break;
      this.inFlight++;
      // The callback runs once the frame reached the kernel: a slow reader holds it back.
      this.socket.send(line, (err) => {
        this.inFlight--;
        if (err) return this.settle();
        this.noteDropped();
        this.pump();
      });
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.settle();
  }

  /** Resolves once everything pushed so far reached the kernel (or the socket is gone). */
  drained() {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.settle();
    });
  }

  settle() {
    if (this.waiters.length === 0) return;
    if (this.pending > 0 && this.socket.readyState === 1) return;
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}

module.exports = { Subscriber };
