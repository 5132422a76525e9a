// Session context: where in its session a listen sits and how the session went so far. The state
// keeps its own record of every session it observed; a request may override position, previous
// outcome and session start (a client knows them even when the server never saw the session).
import { VectorReads, writeSessionColumns } from "./reads.ts";
import { type Columns, column, sameRows } from "./snapshot.ts";
import type { FeatureFamily, SessionOverride } from "./types.ts";

export class SessionFamily
  implements
    FeatureFamily<
      [sessionId: number, sessionStartMs: number, startMs: number, skipped: number, fraction: number],
      [
        sessionId: number | undefined,
        override: SessionOverride | undefined,
        timestampMs: number,
        userRate: number,
        pairPriorStrength: number,
      ]
    >
{
  private readonly slotOf = new Map<number, number>();
  private size = 0;
  private sessionIds: Int32Array;
  private startMs: Float64Array;
  private listens: Uint32Array;
  private skips: Uint32Array;
  /** Outcome of the latest observed listen: 1 skipped, 0 played out. */
  private lastSkipped: Uint8Array;
  private lastHeardFraction: Float64Array;
  private readonly reads = new VectorReads();

  constructor(capacity = 1024) {
    this.sessionIds = new Int32Array(capacity);
    this.startMs = new Float64Array(capacity);
    this.listens = new Uint32Array(capacity);
    this.skips = new Uint32Array(capacity);
    this.lastSkipped = new Uint8Array(capacity);
    this.lastHeardFraction = new Float64Array(capacity);
  }

  observe(
    sessionId: number,
    sessionStartMs: number,
    startMs: number,
    skipped: number,
    fraction: number,
  ): void {
    let slot = this.slotOf.get(sessionId);
    if (slot === undefined) {
      slot = this.add(sessionId, Number.isFinite(sessionStartMs) ? sessionStartMs : startMs);
    }
    this.listens[slot]++;
    this.skips[slot] += skipped;
    this.lastSkipped[slot] = skipped;
    this.lastHeardFraction[slot] = fraction;
  }

  private add(sessionId: number, startMs: number): number {
    const slot = this.size++;
    if (slot >= this.sessionIds.length) this.grow(this.sessionIds.length * 2);
    this.slotOf.set(sessionId, slot);
    this.sessionIds[slot] = sessionId;
    this.startMs[slot] = startMs;
    return slot;
  }

  private grow(capacity: number): void {
    const copy = <T extends Int32Array | Float64Array | Uint32Array | Uint8Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.sessionIds = copy(this.sessionIds, new Int32Array(capacity));
    this.startMs = copy(this.startMs, new Float64Array(capacity));
    this.listens = copy(this.listens, new Uint32Array(capacity));
    this.skips = copy(this.skips, new Uint32Array(capacity));
    this.lastSkipped = copy(this.lastSkipped, new Uint8Array(capacity));
    this.lastHeardFraction = copy(this.lastHeardFraction, new Float64Array(capacity));
  }

  /** Fills the session part of `r` from the record of `sessionId` (none: not recorded). */
  read(sessionId: number | undefined, r: VectorReads): void {
    const slot = sessionId === undefined ? undefined : this.slotOf.get(sessionId);
    r.sessionRecorded = slot !== undefined;
    if (slot === undefined) return;
    r.sessionListens = this.listens[slot];
    r.sessionSkips = this.skips[slot];
    r.sessionLastSkipped = this.lastSkipped[slot];
    r.sessionLastHeardFraction = this.lastHeardFraction[slot];
    r.sessionStartMs = this.startMs[slot];
  }

  /**
   * Writes the session columns. Without a record or override the listen opens a new session
   * (position 0, nothing before it). `userRate` is the prior of the session's skip rate.
   */
  write(
    sessionId: number | undefined,
    override: SessionOverride | undefined,
    timestampMs: number,
    userRate: number,
    pairPriorStrength: number,
    out: Float32Array,
    base: number,
  ): void {
    this.read(sessionId, this.reads);
    writeSessionColumns(this.reads, override, timestampMs, userRate, pairPriorStrength, out, base);
  }

  columns(): Columns {
    const n = this.size;
    return {
      sessionIds: this.sessionIds.subarray(0, n),
      startMs: this.startMs.subarray(0, n),
      listens: this.listens.subarray(0, n),
      skips: this.skips.subarray(0, n),
      lastSkipped: this.lastSkipped.subarray(0, n),
      lastHeardFraction: this.lastHeardFraction.subarray(0, n),
    };
  }

  static fromColumns(columns: Columns): SessionFamily {
    const sessionIds = column(columns, "sessionIds", Int32Array);
    const c = {
      startMs: column(columns, "startMs", Float64Array),
      listens: column(columns, "listens", Uint32Array),
      skips: column(columns, "skips", Uint32Array),
      lastSkipped: column(columns, "lastSkipped", Uint8Array),
      lastHeardFraction: column(columns, "lastHeardFraction", Float64Array),
    };
    const n = sessionIds.length;
    sameRows(n, c);
    const family = new SessionFamily(Math.max(1024, n));
    family.sessionIds.set(sessionIds);
    family.startMs.set(c.startMs);
    family.listens.set(c.listens);
    family.skips.set(c.skips);
    family.lastSkipped.set(c.lastSkipped);
    family.lastHeardFraction.set(c.lastHeardFraction);
    family.size = n;
    for (let slot = 0; slot < n; slot++) {
      if (family.slotOf.has(sessionIds[slot])) throw new Error(`session ${sessionIds[slot]} is repeated`);
      family.slotOf.set(sessionIds[slot], slot);
    }
    return family;
  }
}
