"use strict";
// Idempotency per eventID, remembered by this warm container only (see lambda/README.md).

class Ledger {
  // Which steps each eventID has completed; the least recently touched are forgotten first.
  constructor(capacity = 10_000) {
    this.capacity = capacity;
    this.steps = new Map();
  }

  done(eventId) {
    const steps = eventId == null ? undefined : this.steps.get(eventId);
    if (!steps) return new Set();
    this.touch(eventId, steps);
    return new Set(steps);
  }

  mark(eventId, step) {
    if (eventId == null) return;
    const steps = this.steps.get(eventId) || new Set();
    steps.add(step);
    this.touch(eventId, steps);
    while (this.steps.size > this.capacity) this.steps.delete(this.steps.keys().next().value);
  }

  touch(eventId, steps) {
    this.steps.delete(eventId); // a Map iterates in insertion order: re-inserting makes it the newest
    this.steps.set(eventId, steps);
  }

  clear() {
    this.steps.clear();
  }

  get size() {
    return this.steps.size;
  }
}

module.exports = { Ledger };
