// The online sequence rule: when the stream decides a listen, and that a restored copy decides the rest
// exactly as the original would.
import { describe, expect, it } from "vitest";
import { EventCode } from "../../src/data/types.ts";
import { type FinishedListen, type LiveEvent, LiveListens } from "../../src/listens/live.ts";

const DUR = Float64Array.of(100_000, 200_000, 0); // track 2 has no usable duration

function live() {
  const finished: FinishedListen[] = [];
  return { finished, listens: new LiveListens(DUR, (l) => finished.push({ ...l })) };
}
/** Every column of a LiveListens as bytes (names, types and contents). */
const columnBytes = (listens: LiveListens) =>
  Object.entries(listens.columns()).map(([name, a]) => [
    name,
    a.constructor.name,
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex"),
  ]);
const ev = (kind: number, t: number, session: number, track = -1, user = 7): LiveEvent => ({
  kind,
  timestampMs: t,
  userId: user,
  sessionId: session,
  trackIndex: track,
});

describe("LiveListens", () => {
  it("finishes a skipped listen at its skip, with heard = skip − play", () => {
    const { finished, listens } = live();
    listens.observe(ev(EventCode.advertisement, 500, 1));
    listens.observe(ev(EventCode.play, 1_000, 1, 0));
    listens.observe(ev(EventCode.like, 2_000, 1, 0));
    expect(finished).toHaveLength(0);
    listens.observe(ev(EventCode.skip, 31_000, 1, 0));
    expect(finished).toEqual([
      {
        userId: 7,
        trackIndex: 0,
        sessionId: 1,
        startMs: 1_000,
        sessionStartMs: 500,
        skipped: 1,
        heardMs: 30_000,
        liked: 1,
      },
    ]);
  });

  it("finishes an unskipped listen as played out when its track would have ended, not before", () => {
    const { finished, listens } = live();
    listens.observe(ev(EventCode.play, 0, 1, 0));
    listens.advance(99_999);
    expect(finished).toHaveLength(0);
    listens.observe(ev(EventCode.advertisement, 100_000, 2));
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ skipped: 0, heardMs: 100_000, startMs: 0 });
  });

  it("finishes a session's open listen as played out when its next play or a prediction for it comes", () => {
    const { finished, listens } = live();
    listens.observe(ev(EventCode.play, 0, 1, 1));
    expect(listens.placeOf(50_000, 1)).toEqual({ position: 1, sessionStartMs: 0 });
    expect(finished).toHaveLength(1);
    expect(listens.placeOf(50_000, 1)).toEqual({ position: 1, sessionStartMs: 0 }); // asking twice changes nothing
    listens.observe(ev(EventCode.play, 50_000, 1, 0));
    listens.observe(ev(EventCode.play, 60_000, 1, 1));
    expect(finished.map((l) => [l.startMs, l.skipped])).toEqual([
      [0, 0],
      [50_000, 0],
    ]);
    expect(listens.placeOf(1, 99)).toBeNull(); // a session the stream never saw
  });

  it("ignores skips and likes of another track, plays of unknown tracks, and never times out a zero duration", () => {
    const { finished, listens } = live();
    listens.observe(ev(EventCode.play, 0, 1, 2));
    listens.observe(ev(EventCode.skip, 10, 1, 0));
    listens.advance(1e12);
    expect(finished).toHaveLength(0);
    listens.observe(ev(EventCode.play, 1e12, 1, -1)); // supersedes; opens nothing
    expect(finished).toHaveLength(1);
    expect(Number.isNaN(finished[0].heardMs)).toBe(true);
    expect(listens.placeOf(1e12, 1)?.position).toBe(1);
  });

  it("finishes listens whose deadlines pass together in deadline order, ties by opening order", () => {
    const { finished, listens } = live();
    listens.observe(ev(EventCode.play, 0, 3, 1)); // ends 200,000
    listens.observe(ev(EventCode.play, 100_000, 1, 0)); // ends 200,000, opened later
    listens.observe(ev(EventCode.play, 50_000, 2, 0)); // ends 150,000
    listens.advance(1e9);
    expect(finished.map((l) => l.sessionId)).toEqual([2, 3, 1]);
  });

  it("restored from columns mid-stream, decides the rest of the stream exactly as the original", () => {
    const events: LiveEvent[] = [];
    let s = 42;
    const rand = () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s / 2147483648;
    };
    for (let t = 0; t < 3_000_000; t += Math.floor(rand() * 20_000)) {
      const kind = [EventCode.play, EventCode.play, EventCode.skip, EventCode.like, EventCode.advertisement][
        Math.floor(rand() * 5)
      ];
      events.push(ev(kind, t, Math.floor(rand() * 6), Math.floor(rand() * 3), 1 + Math.floor(rand() * 3)));
    }
    const original = live();
    const cut = Math.floor(events.length / 2);
    for (const e of events.slice(0, cut)) original.listens.observe(e);
    const finished: FinishedListen[] = [];
    const copy = {
      finished,
      listens: LiveListens.fromColumns(original.listens.columns(), DUR, (l) => finished.push({ ...l })),
    };
    expect(columnBytes(copy.listens)).toEqual(columnBytes(original.listens));
    original.finished.length = 0;
    for (const e of events.slice(cut)) {
      original.listens.observe(e);
      copy.listens.observe(e);
    }
    expect(columnBytes(copy.listens)).toEqual(columnBytes(original.listens));
    original.listens.advance(1e12);
    copy.listens.advance(1e12);
    expect(copy.finished.length).toBeGreaterThan(20);
    expect(copy.finished).toEqual(original.finished);
    expect(columnBytes(copy.listens)).toEqual(columnBytes(original.listens));
  });

  it("refuses columns that are missing, of the wrong type or of unequal lengths", () => {
    const { listens } = live();
    listens.observe(ev(EventCode.play, 0, 1, 0));
    listens.observe(ev(EventCode.play, 10, 2, 1));
    const columns = listens.columns();
    const without = (name: string) => Object.fromEntries(Object.entries(columns).filter(([n]) => n !== name));
    const make = (c: Record<string, unknown>) => () => LiveListens.fromColumns(c, DUR, () => {});
    expect(make(without("openSeq"))).toThrow(/column "openSeq" is missing or not a Float64Array/);
    expect(make({ ...columns, open: new Int32Array(2) })).toThrow(
      /column "open" is missing or not a Uint8Array/,
    );
    expect(make({ ...columns, listens: new Uint32Array(3) })).toThrow(
      /column "listens" has 3 rows, expected 2/,
    );
    expect(make({ ...columns, sessionIds: Int32Array.of(5, 5) })).toThrow(/session 5 is repeated/);
    expect(make({ ...columns, extra: new Uint8Array(9) })).not.toThrow();
  });
});
