import type { Clock } from "../../src/session/session";

/** A clock that only moves when a test says so. */
export class ManualClock implements Clock {
  constructor(private nowMs = Date.now()) {}

  now(): number {
    return this.nowMs;
  }

  advance(seconds: number): void {
    this.nowMs += seconds * 1000;
  }
}
