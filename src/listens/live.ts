// The sequence rule (src/listens/sequence.ts) run online, one event at a time, as a service meets the
// event stream. A listen is handed on (finished) only once the stream has decided its outcome:
// - its `skip` arrives: skipped, heard = skip time − play time (capped at the duration);
// - the next `play` of its session arrives, or a prediction for the next listen of its session is
//   asked: played out;
// - the stream clock passes its start + the track's duration: played out.
// Training replays the delivery's events through this same class, so a served feature vector can be
// rebuilt offline exactly (see `skipwise parity`).
import { EventTableBuilder } from "../data/event-table.ts";
import { EventCode, type EventTable } from "../data/types.ts";
import type { ListenTable } from "./types.ts";

/** One normalised session event (an EventTable row). */
export interface LiveEvent {
  kind: number;
  timestampMs: number;
  userId: number;
  sessionId: number;
  /** Catalogue index, -1 when the event names no catalogue track. */
  trackIndex: number;
}

/** A listen whose outcome the stream has decided. */
export interface FinishedListen {
  userId: number;
  trackIndex: number;
  sessionId: number;
  startMs: number;
  sessionStartMs: number;
  skipped: number;
  heardMs: number;
  liked: number;
}

/** Where the next listen of a session sits: what the session-context features need. */
export interface SessionPlace {
  position: number;
  sessionStartMs: number;
}

/** The whole state of a LiveListens, one row per session seen (the shape of a feature family's columns). */
export type LiveColumns = {
  sessionIds: Int32Array;
  sessionStartMs: Float64Array;
  listens: Uint32Array;
  open: Uint8Array;
  openUser: Int32Array;
  openTrack: Int32Array;
  openStartMs: Float64Array;
  openLiked: Uint8Array;
  openSeq: Float64Array;
  /** [next opening sequence number]. */
  nextSeq: Float64Array;
};

/** Min-heap of (deadline, seq, slot): finishes listens in deadline order, ties by opening order. */
class DeadlineHeap {
  private deadline = new Float64Array(64);
  private seq = new Float64Array(64);
  private slot = new Int32Array(64);
  size = 0;

  push(deadline: number, seq: number, slot: number): void {
    if (this.size === this.deadline.length) this.grow();
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(deadline, seq, this.deadline[parent], this.seq[parent])) break;
      this.move(parent, i);
      i = parent;
    }
    this.set(i, deadline, seq, slot);
  }

  topDeadline(): number {
    return this.size > 0 ? this.deadline[0] : Number.POSITIVE_INFINITY;
  }

  /** Removes the top; returns its [seq, slot]. */
  pop(): [number, number] {
    const top: [number, number] = [this.seq[0], this.slot[0]];
    const last = --this.size;
    if (last > 0) {
      const d = this.deadline[last];
      const s = this.seq[last];
      const sl = this.slot[last];
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= last) break;
        const right = left + 1;
        const child =
          right < last &&
          this.less(this.deadline[right], this.seq[right], this.deadline[left], this.seq[left])
            ? right
            : left;
        if (!this.less(this.deadline[child], this.seq[child], d, s)) break;
        this.move(child, i);
        i = child;
      }
      this.set(i, d, s, sl);
    }
    return top;
  }

  private less(d1: number, s1: number, d2: number, s2: number): boolean {
    return d1 < d2 || (d1 === d2 && s1 < s2);
  }

  private move(from: number, to: number): void {
    this.set(to, this.deadline[from], this.seq[from], this.slot[from]);
  }

  private set(i: number, deadline: number, seq: number, slot: number): void {
    this.deadline[i] = deadline;
    this.seq[i] = seq;
    this.slot[i] = slot;
  }

  private grow(): void {
    const n = this.deadline.length * 2;
    const d = new Float64Array(n);
    d.set(this.deadline);
    const s = new Float64Array(n);
    s.set(this.seq);
    const sl = new Int32Array(n);
    sl.set(this.slot);
    this.deadline = d;
    this.seq = s;
    this.slot = sl;
  }
}

/**
 * Has the shape of a feature family (src/features/types.ts `StateFamily`, checked there): `observe(event)`,
 * `columns()` and `LiveListens.fromColumns(columns, durations, onFinished)`.
 */
export class LiveListens {
  private clock = Number.NEGATIVE_INFINITY;
  private nextSeq = 0;
  private readonly slotOf = new Map<number, number>();
  private size = 0;
  private c: LiveColumns;
  private readonly heap = new DeadlineHeap();

  constructor(
    /** Track durations by catalogue index (ms); a duration ≤ 0 or NaN never ends a listen by time. */
    private readonly durations: Float64Array,
    private readonly onFinished: (listen: FinishedListen) => void,
  ) {
    this.c = allocate(256);
  }

  /** Latest event or request time seen (epoch ms); -Infinity before any (the clock is not in `columns()`). */
  get clockMs(): number {
    return this.clock;
  }

  /** Sessions seen so far. */
  get sessions(): number {
    return this.size;
  }

  /** Finishes, as played out, every open listen whose track would have ended by `t`. */
  advance(t: number): void {
    if (t > this.clock) this.clock = t;
    const c = this.c;
    while (this.heap.size > 0 && this.heap.topDeadline() <= t) {
      const [seq, slot] = this.heap.pop();
      if (c.open[slot] === 1 && c.openSeq[slot] === seq) this.finishPlayed(slot);
    }
  }

  /**
   * Place of a listen about to start in `sessionId` at `t`: the clock advances to `t` and the session's
   * open listen (if any) is finished as played out, since a new one starts. Null for a session never seen.
   */
  placeOf(t: number, sessionId: number): SessionPlace | null {
    this.advance(t);
    const slot = this.slotOf.get(sessionId);
    if (slot === undefined) return null;
    if (this.c.open[slot] === 1) this.finishPlayed(slot);
    return { position: this.c.listens[slot], sessionStartMs: this.c.sessionStartMs[slot] };
  }

  /** Learns from one session event (the stream clock advances to it first). */
  observe(e: LiveEvent): void {
    const t = e.timestampMs;
    this.advance(t);
    const slot = this.slotOf.get(e.sessionId) ?? this.addSession(e.sessionId, t);
    const c = this.c;
    const open = c.open[slot] === 1;
    switch (e.kind) {
      case EventCode.play: {
        if (open) this.finishPlayed(slot);
        if (e.trackIndex < 0 || e.trackIndex >= this.durations.length) return;
        const seq = this.nextSeq++;
        c.open[slot] = 1;
        c.openUser[slot] = e.userId;
        c.openTrack[slot] = e.trackIndex;
        c.openStartMs[slot] = t;
        c.openLiked[slot] = 0;
        c.openSeq[slot] = seq;
        c.listens[slot]++;
        const duration = this.durations[e.trackIndex];
        this.heap.push(duration > 0 ? t + duration : Number.POSITIVE_INFINITY, seq, slot);
        return;
      }
      case EventCode.skip: {
        if (!open || c.openTrack[slot] !== e.trackIndex) return;
        const duration = this.durations[e.trackIndex];
        const heard = duration > 0 ? Math.min(t - c.openStartMs[slot], duration) : Number.NaN;
        this.finish(slot, 1, heard);
        return;
      }
      case EventCode.like:
        if (open && c.openTrack[slot] === e.trackIndex) c.openLiked[slot] = 1;
        return;
      default:
        return;
    }
  }

  columns(): LiveColumns {
    const n = this.size;
    const c = this.c;
    return {
      sessionIds: c.sessionIds.subarray(0, n),
      sessionStartMs: c.sessionStartMs.subarray(0, n),
      listens: c.listens.subarray(0, n),
      open: c.open.subarray(0, n),
      openUser: c.openUser.subarray(0, n),
      openTrack: c.openTrack.subarray(0, n),
      openStartMs: c.openStartMs.subarray(0, n),
      openLiked: c.openLiked.subarray(0, n),
      openSeq: c.openSeq.subarray(0, n),
      nextSeq: Float64Array.of(this.nextSeq),
    };
  }

  /**
   * A new instance holding exactly the state `columns()` gave (other names in `columns` are ignored); the
   * deadline order is rebuilt exactly.
   */
  static fromColumns(
    columns: Readonly<Record<string, unknown>>,
    durations: Float64Array,
    onFinished: (listen: FinishedListen) => void,
  ): LiveListens {
    const live = new LiveListens(durations, onFinished);
    const template = allocate(0);
    const given = {} as LiveColumns;
    for (const name of Object.keys(template) as (keyof LiveColumns)[]) {
      const array = columns[name];
      const type = template[name].constructor as Float64ArrayConstructor;
      if (!(array instanceof type))
        throw new Error(`live listens: column "${name}" is missing or not a ${type.name}`);
      (given as Record<string, unknown>)[name] = array;
    }
    const n = given.sessionIds.length;
    for (const [name, array] of Object.entries(given)) {
      const rows = name === "nextSeq" ? 1 : n;
      if (array.length !== rows)
        throw new Error(`live listens: column "${name}" has ${array.length} rows, expected ${rows}`);
    }
    const c = allocate(Math.max(256, n * 2));
    copyRows(given, c);
    live.c = c;
    live.size = n;
    for (let slot = 0; slot < n; slot++) {
      if (live.slotOf.has(c.sessionIds[slot]))
        throw new Error(`live listens: session ${c.sessionIds[slot]} is repeated`);
      live.slotOf.set(c.sessionIds[slot], slot);
      if (c.open[slot] !== 1) continue;
      const track = c.openTrack[slot];
      if (!(track >= 0 && track < durations.length))
        throw new Error(`live listens: open listen of session ${c.sessionIds[slot]} names track ${track}`);
      const duration = durations[track];
      live.heap.push(
        duration > 0 ? c.openStartMs[slot] + duration : Number.POSITIVE_INFINITY,
        c.openSeq[slot],
        slot,
      );
    }
    live.nextSeq = given.nextSeq[0];
    return live;
  }

  private finishPlayed(slot: number): void {
    const duration = this.durations[this.c.openTrack[slot]];
    this.finish(slot, 0, duration > 0 ? duration : Number.NaN);
  }

  private finish(slot: number, skipped: number, heardMs: number): void {
    const c = this.c;
    c.open[slot] = 0;
    this.onFinished({
      userId: c.openUser[slot],
      trackIndex: c.openTrack[slot],
      sessionId: c.sessionIds[slot],
      startMs: c.openStartMs[slot],
      sessionStartMs: c.sessionStartMs[slot],
      skipped,
      heardMs,
      liked: c.openLiked[slot],
    });
  }

  private addSession(sessionId: number, startMs: number): number {
    const slot = this.size++;
    if (slot >= this.c.sessionIds.length) this.grow(this.c.sessionIds.length * 2);
    this.slotOf.set(sessionId, slot);
    this.c.sessionIds[slot] = sessionId;
    this.c.sessionStartMs[slot] = startMs;
    this.c.listens[slot] = 0;
    this.c.open[slot] = 0;
    return slot;
  }

  private grow(capacity: number): void {
    const next = allocate(capacity);
    copyRows(this.c, next);
    this.c = next;
  }
}

function allocate(n: number): LiveColumns {
  return {
    sessionIds: new Int32Array(n),
    sessionStartMs: new Float64Array(n),
    listens: new Uint32Array(n),
    open: new Uint8Array(n),
    openUser: new Int32Array(n),
    openTrack: new Int32Array(n),
    openStartMs: new Float64Array(n),
    openLiked: new Uint8Array(n),
    openSeq: new Float64Array(n),
    nextSeq: new Float64Array(1),
  };
}

/** Copies the per-session rows of `from` to the start of `to` (which has room for them). */
function copyRows(from: LiveColumns, to: LiveColumns): void {
  for (const key of Object.keys(to) as (keyof LiveColumns)[]) {
    if (key !== "nextSeq") (to[key] as Float64Array).set(from[key] as Float64Array);
  }
}

/**
 * An event stream that a listen table stands for, for callers holding listens but no events (tests,
 * hand-built tables): a session's first event at its start, each listen's play (and its like) at its
 * start, its skip at start + heard, and a purchase before the first premium listen of a user.
 */
export function eventsOfListens(listens: ListenTable): EventTable {
  const table = new EventTableBuilder(listens.length * 2);
  const push = (t: number, user: number, session: number, track: number, kind: number) =>
    table.push(t, user, session, track, kind, table.length + 1);
  const sessionsSeen = new Set<number>();
  const premiumSeen = new Set<number>();
  const nonPremiumSeen = new Set<number>();
  for (let i = 0; i < listens.length; i++) {
    const t = listens.startMs[i];
    const user = listens.userId[i];
    const session = listens.sessionId[i];
    if (!sessionsSeen.has(session)) {
      sessionsSeen.add(session);
      if (listens.sessionStartMs[i] < t)
        push(listens.sessionStartMs[i], user, session, -1, EventCode.advertisement);
    }
    if (listens.premium[i] === 0) nonPremiumSeen.add(user);
    else if (listens.premium[i] === 1 && !premiumSeen.has(user)) {
      premiumSeen.add(user);
      if (nonPremiumSeen.has(user)) push(t, user, session, -1, EventCode.buy_premium);
    }
    const track = listens.trackIndex[i];
    push(t, user, session, track, EventCode.play);
    if (listens.liked[i] === 1) push(t, user, session, track, EventCode.like);
    if (listens.skipped[i] === 1) {
      const heard = listens.heardMs[i];
      push(Number.isFinite(heard) ? t + heard : t, user, session, track, EventCode.skip);
    }
  }
  return table.build();
}
