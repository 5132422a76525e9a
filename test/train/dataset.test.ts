import { describe, expect, it } from "vitest";
import { FEATURE_COUNT, FEATURE_SCHEMA, FeatureState } from "../../src/features/index.ts";
import { buildListens, eventsOfListens, eventTimeOrder } from "../../src/listens/index.ts";
import type { ListenTable } from "../../src/listens/types.ts";
import { buildDataset } from "../../src/train/dataset.ts";
import { type EventRow, makeCatalog, makeEvents, track, user } from "../listens/fixtures.ts";

/** 6 users, 12 tracks by 4 artists, ~1,200 events in interleaved sessions on a coarse clock (ties). */
function world(seed: number) {
  const genres = ["rock", "pop", "jazz", "metal", "folk"];
  const catalog = makeCatalog({
    tracks: Array.from({ length: 12 }, (_, i) =>
      track(`T${i}`, `ar${i % 4}`, { durationMs: 60_000 + i * 10_000 }),
    ),
    artists: Array.from({ length: 4 }, (_, a) => ({
      id: `ar${a}`,
      name: `A${a}`,
      genres: [genres[a], genres[a + 1]],
    })),
    users: Array.from({ length: 5 }, (_, u) => user(u + 1, [genres[u % 5]], u % 2 === 0)),
  });
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const rows: EventRow[] = [];
  const base = Date.parse("2023-03-01T00:00:00Z");
  for (let session = 1; session <= 60; session++) {
    const userId = 1 + Math.floor(rand() * 6); // user 6 is not in users.jsonl
    let t = base + Math.floor(rand() * 20) * 60_000; // many sessions start on the same minutes
    for (let k = 0; k < 10; k++) {
      const trackId = `T${Math.floor(rand() * 12)}`;
      rows.push([session, t, userId, "play", trackId]);
      if (rand() < 0.3) rows.push([session, t + 20_000, userId, "like", trackId]);
      if (rand() < 0.35) {
        rows.push([session, t + 30_000, userId, "skip", trackId]);
        t += 60_000;
      } else t += 180_000;
    }
  }
  // Shuffle the file order: the listen builder must not depend on it.
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return { catalog, listens: buildListens(makeEvents(catalog, rows), catalog) };
}

/** The first `count` listens, with the last one's outcome replaced. */
function truncated(listens: ListenTable, count: number, flipLast: boolean): ListenTable {
  const cut = <T extends { slice(a: number, b: number): T }>(a: T) => a.slice(0, count);
  const t: ListenTable = {
    length: count,
    userId: cut(listens.userId),
    trackIndex: cut(listens.trackIndex),
    sessionId: cut(listens.sessionId),
    startMs: cut(listens.startMs),
    sessionStartMs: cut(listens.sessionStartMs),
    skipped: cut(listens.skipped),
    heardMs: cut(listens.heardMs),
    position: cut(listens.position),
    liked: cut(listens.liked),
    premium: cut(listens.premium),
  };
  if (flipLast && count > 0) {
    t.skipped[count - 1] ^= 1;
    t.liked[count - 1] ^= 1;
    t.heardMs[count - 1] = 1;
  }
  return t;
}

const rowBytes = (data: Float32Array, row: number) =>
  Buffer.from(data.buffer, data.byteOffset + row * FEATURE_COUNT * 4, FEATURE_COUNT * 4);

describe("buildDataset", () => {
  const { catalog, listens } = world(3);
  const full = buildDataset(listens, catalog);

  it("has one row per listen with labels and ids in listen order", () => {
    expect(listens.length).toBe(600);
    expect(full.X.rows).toBe(600);
    expect(full.X.cols).toBe(FEATURE_COUNT);
    expect(full.featureNames).toBe(FEATURE_SCHEMA.names);
    expect(Array.from(full.y)).toEqual(Array.from(listens.skipped));
    expect(Array.from(full.startMs)).toEqual(Array.from(listens.startMs));
    expect(Array.from(full.trackIndex)).toEqual(Array.from(listens.trackIndex));
    expect(full.durationMs[0]).toBe(catalog.tracks[listens.trackIndex[0]].durationMs);
    expect(full.state.observed).toBe(600);
    expect(full.coldUser[0]).toBe(1);
    expect(full.coldUser[599]).toBe(0);
  });

  it("never lets a row see its own outcome or any later listen (truncate and flip, compare bytes)", () => {
    // the data must contain ties for this test to cover the same-timestamp rule
    let ties = 0;
    for (let i = 1; i < listens.length; i++) if (listens.startMs[i] === listens.startMs[i - 1]) ties++;
    expect(ties).toBeGreaterThan(20);
    const rows = [0, 1, 2, 5, 17, 60, 61, 150, 299, 300, 451, 598, 599];
    for (let i = 0; i < listens.length; i++) {
      if (i > 0 && listens.startMs[i] === listens.startMs[i - 1]) rows.push(i);
      if (rows.length > 40) break;
    }
    for (const row of rows) {
      const part = buildDataset(truncated(listens, row + 1, true), catalog);
      expect(rowBytes(part.X.data, row).equals(rowBytes(full.X.data, row)), `row ${row}`).toBe(true);
    }
  });

  it("lets later rows see earlier outcomes (the check above can fail)", () => {
    const flipped = truncated(listens, listens.length, false);
    flipped.skipped[0] ^= 1;
    const other = buildDataset(flipped, catalog);
    let differing = 0;
    for (let row = 1; row < listens.length; row++) {
      if (!rowBytes(other.X.data, row).equals(rowBytes(full.X.data, row))) differing++;
    }
    expect(differing).toBeGreaterThan(100);
  });

  it("ends in the state of the same events applied one at a time, in stream order", () => {
    const events = eventsOfListens(listens);
    const manual = new FeatureState(catalog);
    const order = eventTimeOrder(events.sessionId, events.timestampMs, events.length);
    for (const e of order) {
      manual.applyEvent({
        kind: events.kind[e],
        timestampMs: events.timestampMs[e],
        userId: events.userId[e],
        sessionId: events.sessionId[e],
        trackIndex: events.trackIndex[e],
      });
    }
    // buildDataset also asks a vector at every play; that finishes nothing the play itself would not.
    expect(Buffer.compare(manual.snapshot(), full.state.snapshot())).toBe(0);
  });

  it("restored from its mid-stream snapshot, a state answers the later rows exactly (what a served bundle does)", () => {
    const cutMs = listens.startMs[350];
    const withSnapshot = buildDataset(listens, catalog, { snapshotAtMs: cutMs });
    const restored = FeatureState.restore(catalog, withSnapshot.snapshotAt as Buffer);
    const events = eventsOfListens(listens);
    const order = eventTimeOrder(events.sessionId, events.timestampMs, events.length);
    const row = new Float32Array(FEATURE_COUNT);
    let r = 350;
    while (r > 0 && listens.startMs[r - 1] === cutMs) r--;
    let compared = 0;
    for (const e of order) {
      if (events.timestampMs[e] < cutMs) continue;
      if (events.kind[e] === 0) {
        restored.writeVector(
          {
            userId: events.userId[e],
            trackIndex: events.trackIndex[e],
            timestampMs: events.timestampMs[e],
            sessionId: events.sessionId[e],
          },
          row,
          0,
        );
        expect(Buffer.from(row.buffer).equals(rowBytes(full.X.data, r))).toBe(true);
        r++;
        compared++;
      }
      restored.applyEvent({
        kind: events.kind[e],
        timestampMs: events.timestampMs[e],
        userId: events.userId[e],
        sessionId: events.sessionId[e],
        trackIndex: events.trackIndex[e],
      });
    }
    expect(compared).toBeGreaterThan(200);
    expect(r).toBe(listens.length);
  });

  it("reports progress and ends at (total, total)", () => {
    const calls: [number, number][] = [];
    buildDataset(listens, catalog, { progressEvery: 100, onProgress: (d, t) => calls.push([d, t]) });
    expect(calls.length).toBeGreaterThanOrEqual(6);
    expect(calls.at(-1)).toEqual([600, 600]);
    for (let i = 1; i < calls.length; i++) expect(calls[i][0]).toBeGreaterThan(calls[i - 1][0]);
  });

  it("continues from a given state", () => {
    let cut = 300; // a cut between two different start times (a tie must stay in one replay)
    while (listens.startMs[cut] === listens.startMs[cut - 1]) cut++;
    const first = buildDataset(truncated(listens, cut, false), catalog);
    const rest = { length: listens.length - cut } as ListenTable;
    for (const key of Object.keys(listens) as (keyof ListenTable)[]) {
      if (key !== "length") (rest[key] as unknown) = (listens[key] as Float64Array).slice(cut);
    }
    const second = buildDataset(rest, catalog, { state: first.state });
    for (const row of [0, 1, 150, rest.length - 1]) {
      expect(rowBytes(second.X.data, row).equals(rowBytes(full.X.data, row + cut))).toBe(true);
    }
  });

  it("refuses listens that are not in time order", () => {
    const swapped = truncated(listens, 10, false);
    [swapped.startMs[3], swapped.startMs[7]] = [swapped.startMs[7] + 1, swapped.startMs[3]];
    expect(() => buildDataset(swapped, catalog)).toThrow(/sorted by start time/);
  });
});
