// Growable columnar storage for session events (typed arrays, capacity doubles when full).
import type { EventTable } from "./types.ts";

export class EventTableBuilder {
  length = 0;
  timestampMs: Float64Array;
  userId: Int32Array;
  sessionId: Int32Array;
  trackIndex: Int32Array;
  kind: Uint8Array;
  line: Int32Array;

  constructor(capacity = 1 << 16) {
    capacity = Math.max(16, capacity);
    this.timestampMs = new Float64Array(capacity);
    this.userId = new Int32Array(capacity);
    this.sessionId = new Int32Array(capacity);
    this.trackIndex = new Int32Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.line = new Int32Array(capacity);
  }

  push(
    timestampMs: number,
    userId: number,
    sessionId: number,
    trackIndex: number,
    kind: number,
    line: number,
  ): number {
    if (this.length === this.kind.length) this.grow();
    const row = this.length++;
    this.timestampMs[row] = timestampMs;
    this.userId[row] = userId;
    this.sessionId[row] = sessionId;
    this.trackIndex[row] = trackIndex;
    this.kind[row] = kind;
    this.line[row] = line;
    return row;
  }

  /** Drops the rows whose `drop[row]` is 1, keeping order. */
  compact(drop: Uint8Array): void {
    let out = 0;
    for (let row = 0; row < this.length; row++) {
      if (drop[row]) continue;
      if (out !== row) {
        this.timestampMs[out] = this.timestampMs[row];
        this.userId[out] = this.userId[row];
        this.sessionId[out] = this.sessionId[row];
        this.trackIndex[out] = this.trackIndex[row];
        this.kind[out] = this.kind[row];
        this.line[out] = this.line[row];
      }
      out++;
    }
    this.length = out;
  }

  /**
   * The finished table with arrays of exactly `length` elements: views on the builder's arrays when they are
   * nearly full, trimmed copies when much capacity would otherwise stay allocated.
   */
  build(): EventTable {
    const n = this.length;
    const copy = this.kind.length > n * 1.25 + 1024;
    const trim = <T extends Float64Array | Int32Array | Uint8Array>(a: T): T =>
      (copy ? a.slice(0, n) : a.subarray(0, n)) as T;
    return {
      length: n,
      timestampMs: trim(this.timestampMs),
      userId: trim(this.userId),
      sessionId: trim(this.sessionId),
      trackIndex: trim(this.trackIndex),
      kind: trim(this.kind),
      line: trim(this.line),
    };
  }

  private grow(): void {
    const capacity = this.kind.length * 2;
    this.timestampMs = grown(this.timestampMs, new Float64Array(capacity));
    this.userId = grown(this.userId, new Int32Array(capacity));
    this.sessionId = grown(this.sessionId, new Int32Array(capacity));
    this.trackIndex = grown(this.trackIndex, new Int32Array(capacity));
    this.kind = grown(this.kind, new Uint8Array(capacity));
    this.line = grown(this.line, new Int32Array(capacity));
  }
}

function grown<T extends Float64Array | Int32Array | Uint8Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}
