'use strict';
// One admin-feed subscriber's queue: bounded, so that a slow wscope never slows the server.

const { now } = require('./util');

/** One admin-feed subscriber: a bounded queue; what does not fit is counted as `dropped`. */
class Subscriber {
  constructor(socket, limit, maxInFlight) {
    this.socket = socket;
    this.limit = limit;
    this.maxInFlight = maxInFlight;
    this.queue = [];
    this.head = 0;
    this.inFlight = 0;
    this.dropped = 0;
    this.lastResync = 0;
  }

  get queued() {
    return this.queue.length - this.head;
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

  pump() {
    while (this.inFlight < this.maxInFlight && this.queued > 0) {
      if (this.socket.readyState !== this.socket.OPEN) return;
      const line = this.queue[this.head];
      this.queue[this.head++] = undefined;
      this.inFlight++;
      // The callback runs once the frame reached the kernel: a slow reader holds it back.
      this.socket.send(line, (err) => {
        this.inFlight--;
        if (err) return;
        this.noteDropped();
        this.pump();
      });
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}

module.exports = { Subscriber };
