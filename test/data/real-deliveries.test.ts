// Ingests the three real Pozytywka deliveries and asserts their real counts (recounted with python3).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFECT_KINDS, type Delivery, formatQualityReport, loadDelivery } from "../../src/data/index.ts";
import { EventCode } from "../../src/data/types.ts";
import { sharedDelivery } from "../helpers/shared-data.ts";
import {
  buildV1DefectsCheckout,
  TRACKS_LINK_KINDS,
  TRACKS_LINK_TARGET,
} from "../helpers/v1-defects-checkouts.ts";

function zeroDefectsExcept(delivery: Delivery, allowed: string[]): void {
  for (const kind of DEFECT_KINDS) {
    if (allowed.includes(kind)) continue;
    expect(delivery.quality.defects[kind], kind).toEqual({ found: 0, repaired: 0, quarantined: 0 });
  }
}

describe("2023L-v2 (uppercase event types)", () => {
  let d: Delivery;
  beforeAll(async () => {
    d = await loadDelivery(sharedDelivery("2023L-v2"));
  });

  it("keeps every one of the 19,348 session events", () => {
    expect(d.events.length).toBe(19_348);
    expect(d.quality.eventTypes).toEqual({
      play: 10_229,
      skip: 3_761,
      like: 2_833,
      advertisement: 2_497,
      buy_premium: 28,
    });
    expect(d.quality.files.sessions).toMatchObject({
      lines: 19_348,
      kept: 19_348,
      repaired: 0,
      quarantined: 0,
    });
  });

  it("reads the catalogue and counts", () => {
    expect(d.quality.counts).toEqual({
      events: 19_348,
      sessions: 596,
      users: 50,
      tracks: 21_608,
      artists: 10_657,
      storage: 21_608,
    });
    expect(d.catalog.tracks).toHaveLength(21_608);
    expect(d.catalog.trackIndex.size).toBe(21_608);
    expect(d.catalog.storage.get("4LdczeQKU4ojwFJd6QWGnW")).toEqual({
      trackId: "4LdczeQKU4ojwFJd6QWGnW",
      storageClass: "slow",
      dailyCost: 0.00889265,
    });
    zeroDefectsExcept(d, []);
    expect(d.quality.joins).toEqual({
      eventsUnknownUser: 0,
      eventsUnknownTrack: 0,
      tracksUnknownArtist: 0,
      storageWithoutTrack: 0,
      tracksWithoutStorage: 0,
      usersWithoutEvents: 0,
    });
  });

  it("normalises timestamps, dialect and the first event", () => {
    expect(d.quality.timeRange?.first).toBe("2023-01-01T06:00:09.000Z");
    expect(d.quality.timeRange?.last).toBe("2023-03-28T15:10:21.062Z");
    expect(d.quality.dialect.timestampForms).toMatchObject({ iso: 617, iso_fraction: 18_731, epoch_ms: 0 });
    expect(d.quality.dialect.eventTypeSpellings).toEqual({
      PLAY: 10_229,
      SKIP: 3_761,
      LIKE: 2_833,
      ADVERTISEMENT: 2_497,
      BUY_PREMIUM: 28,
    });
    expect(d.quality.dialect.releaseDateForms).toEqual({ YYYY: 4_951, "YYYY-MM": 98, "YYYY-MM-DD": 16_559 });
    // line 1: {"timestamp": "2023-01-03T05:09:55", "user_id": 101, "track_id": "2PmGtDUyJIpYBEtI1hQIVp", "event_type": "PLAY", "session_id": 124}
    expect(d.events.timestampMs[0]).toBe(Date.UTC(2023, 0, 3, 5, 9, 55));
    expect(d.events.userId[0]).toBe(101);
    expect(d.events.sessionId[0]).toBe(124);
    expect(d.events.kind[0]).toBe(EventCode.play);
    expect(d.catalog.tracks[d.events.trackIndex[0]].id).toBe("2PmGtDUyJIpYBEtI1hQIVp");
    // line 2 has a fraction: 2023-01-03T05:14:02.707000
    expect(d.events.timestampMs[1]).toBe(Date.UTC(2023, 0, 3, 5, 14, 2, 707));
    expect(d.events.line[1]).toBe(2);
  });

  it("leaves no track index on advertisement and buy_premium rows", () => {
    for (let i = 0; i < d.events.length; i++) {
      const k = d.events.kind[i];
      if (k === EventCode.advertisement || k === EventCode.buy_premium)
        expect(d.events.trackIndex[i]).toBe(-1);
      else expect(d.events.trackIndex[i]).toBeGreaterThanOrEqual(0);
    }
  });

  it("normalises release dates of every form", () => {
    for (const t of d.catalog.tracks) expect(t.releaseDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const yearOnly = d.catalog.tracks.find((t) => t.id === "4LdczeQKU4ojwFJd6QWGnW");
    expect(yearOnly?.releaseDate).toBe("2011-01-01");
    expect(yearOnly?.releaseYear).toBe(2011);
    expect(yearOnly?.explicit).toBe(false);
  });
});

describe("2023Z-v2 (lowercase, `advertisment`, session_id first)", () => {
  let d: Delivery;
  beforeAll(async () => {
    d = await loadDelivery(sharedDelivery("2023Z-v2"));
  });

  it("reads 26,347 lines and drops the one byte-identical duplicate (line 18307 repeats line 18305)", () => {
    expect(d.quality.files.sessions).toMatchObject({
      lines: 26_347,
      kept: 26_346,
      repaired: 0,
      quarantined: 1,
    });
    expect(d.quality.defects.duplicate_row).toEqual({ found: 1, repaired: 0, quarantined: 1 });
    zeroDefectsExcept(d, ["duplicate_row"]);
    expect(d.quality.examples).toEqual([
      expect.objectContaining({ file: "sessions.jsonl", line: 18_307, reason: "duplicate_row" }),
    ]);
    expect(d.events.length).toBe(26_346);
    // 3,736 advertisment lines in the file, one of them the duplicate
    expect(d.quality.eventTypes).toEqual({
      play: 14_456,
      skip: 4_570,
      like: 3_585,
      advertisement: 3_735,
      buy_premium: 0,
    });
    expect(d.quality.dialect.eventTypeSpellings).toEqual({
      play: 14_456,
      skip: 4_570,
      like: 3_585,
      advertisment: 3_735,
    });
  });

  it("reads the catalogue", () => {
    expect(d.quality.counts).toEqual({
      events: 26_346,
      sessions: 4_632,
      users: 50,
      tracks: 22_412,
      artists: 1_667,
      storage: 22_412,
    });
    expect(d.quality.dialect.storageClassSpellings).toEqual({ slow: 19_044, medium: 3_346, fast: 22 });
    expect(d.quality.timeRange?.first).toBe("2022-11-25T07:02:52.226Z");
    expect(d.quality.timeRange?.last).toBe("2023-11-25T07:12:21.720Z");
  });
});

// tracks.jsonl is a pointer file in some checkouts of ../shared and a real symlink in a normal one; every
// assertion holds for the checkout at hand and for both kinds rebuilt in a temp folder.
type Checkout = () => { dir: string; cleanup?: () => void };
const V1_DEFECTS_CHECKOUTS: [string, Checkout][] = [
  ["this checkout of ../shared", () => ({ dir: sharedDelivery("2023L-v1-defects") })],
  ...TRACKS_LINK_KINDS.map((kind): [string, Checkout] => [
    `tracks.jsonl as a ${kind}`,
    () => buildV1DefectsCheckout(kind),
  ]),
];

describe.each(V1_DEFECTS_CHECKOUTS)("2023L-v1-defects (deliberately dirty), %s", (_, checkout) => {
  let d: Delivery;
  let cleanup: (() => void) | undefined;
  beforeAll(async () => {
    const built = checkout();
    cleanup = built.cleanup;
    d = await loadDelivery(built.dir);
  });
  afterAll(() => cleanup?.());

  it("follows the tracks.jsonl pointer or symlink to the 2023L-v2 catalogue and says so", () => {
    expect(d.quality.links).toHaveLength(1);
    expect(d.quality.links[0]).toMatchObject({ file: "tracks.jsonl", target: TRACKS_LINK_TARGET });
    expect(d.quality.links[0].resolved).toMatch(/2023L-v2\/tracks\.jsonl$/);
    expect(d.quality.files.tracks?.path).toMatch(/2023L-v2\/tracks\.jsonl$/);
    expect(d.catalog.tracks).toHaveLength(21_608);
    expect(d.quality.notes.join(" ")).toMatch(/pointer file/);
  });

  it("counts every session defect exactly (recounted with python3)", () => {
    const q = d.quality;
    expect(q.files.sessions).toMatchObject({
      lines: 3_971,
      kept: 3_401,
      repaired: 218,
      quarantined: 352,
      repairedByRule: { user_from_session: 166, track_from_preceding_play: 52 },
      quarantinedByReason: { null_event_type: 208, null_track_id: 136, null_user_id: 8 },
    });
    // 195 null user_id rows: 110 PLAY, 35 SKIP, 31 LIKE, 14 null event type, 4 BUY_PREMIUM, 1 ADVERTISEMENT
    expect(q.defects.null_user_id).toEqual({ found: 195, repaired: 166, quarantined: 8 });
    expect(q.defects.null_event_type).toEqual({ found: 208, repaired: 0, quarantined: 208 });
    // null/empty track_id on 109 PLAY + 45 SKIP + 34 LIKE rows
    expect(q.defects.null_track_id).toEqual({ found: 188, repaired: 52, quarantined: 136 });
    expect(d.events.length).toBe(3_619);
    expect(q.eventTypes).toEqual({ play: 2_125, skip: 803, like: 614, advertisement: 30, buy_premium: 47 });
    expect(q.counts.sessions).toBe(619);
  });

  it("counts every catalogue defect exactly", () => {
    const q = d.quality;
    expect(q.defects.bad_artist_id).toEqual({ found: 557, repaired: 0, quarantined: 557 });
    // 531 artists have null genres; 27 of them also have id -1 and are quarantined for that
    expect(q.defects.null_artist_genres).toEqual({ found: 531, repaired: 504, quarantined: 0 });
    expect(q.defects.null_favourite_genres).toEqual({ found: 2, repaired: 2, quarantined: 0 });
    expect(q.defects.null_premium_user).toEqual({ found: 1, repaired: 1, quarantined: 0 });
    expect(q.defects.unknown_artist).toEqual({ found: 1_031, repaired: 0, quarantined: 0 });
    expect(q.joins.tracksUnknownArtist).toBe(1_031);
    zeroDefectsExcept(d, [
      "bad_artist_id",
      "null_artist_genres",
      "null_favourite_genres",
      "null_premium_user",
      "unknown_artist",
      "null_user_id",
      "null_event_type",
      "null_track_id",
    ]);
    expect(q.files.artists).toMatchObject({ lines: 10_657, kept: 9_596, repaired: 504, quarantined: 557 });
    expect(q.files.users).toMatchObject({ lines: 50, kept: 47, repaired: 3, quarantined: 0 });
    expect(q.counts).toMatchObject({ users: 50, artists: 10_100, tracks: 21_608 });
    expect(q.dialect.extraKeyRows.users).toBe(5);
    expect(d.catalog.users.get(102)?.favouriteGenres).toEqual([]);
  });

  it("applies the repairs to the right rows", () => {
    const rowOfLine = (line: number) => d.events.line.indexOf(line);
    // line 2: user_id null inside session 124, whose other event names user 101
    const r2 = rowOfLine(2);
    expect(d.events.userId[r2]).toBe(101);
    expect(d.catalog.tracks[d.events.trackIndex[r2]].id).toBe("2lkoxPYi7o9OlaGP9bVI09");
    // line 33: SKIP with null track_id directly after a PLAY of 4cBdJxMlpKFOZFIrEyOjim in session 131
    const r33 = rowOfLine(33);
    expect(d.events.kind[r33]).toBe(EventCode.skip);
    expect(d.catalog.tracks[d.events.trackIndex[r33]].id).toBe("4cBdJxMlpKFOZFIrEyOjim");
    // line 10 has a null event type: quarantined, absent from the table
    expect(rowOfLine(10)).toBe(-1);
  });

  it("keeps at most 20 examples per reason with file, line and excerpt", () => {
    const byReason = new Map<string, number>();
    for (const e of d.quality.examples) byReason.set(e.reason, (byReason.get(e.reason) ?? 0) + 1);
    expect(Object.fromEntries(byReason)).toEqual({
      bad_artist_id: 20,
      null_event_type: 20,
      null_track_id: 20,
      null_user_id: 8,
    });
    expect(d.quality.examples.find((e) => e.reason === "null_event_type")).toEqual({
      file: "sessions.jsonl",
      line: 10,
      reason: "null_event_type",
      excerpt:
        '{"timestamp": "2023-01-06T04:47:01.091000", "user_id": 101, "track_id": "7fcD9YsAiBbtVyKe9Tqll6", "event_type": null, "session_id": 125}',
    });
  });

  it("renders a fixed-width table naming files, outcomes and defects", () => {
    const text = formatQualityReport(d.quality);
    expect(text).toMatch(/^sessions\.jsonl\s+3,971\s+3,401\s+218\s+352$/m);
    expect(text).toMatch(/^sessions\.jsonl\s+repaired: user_from_session\s+166$/m);
    expect(text).toMatch(/^sessions\.jsonl\s+quarantined: null_event_type\s+208$/m);
    expect(text).toMatch(/^artists\.jsonl\s+quarantined: bad_artist_id\s+557$/m);
    expect(text).toMatch(/^null_user_id\s+195\s+166\s+8$/m);
    expect(text).toMatch(/^tracks with unknown artist\s+1,031$/m);
    expect(text).toContain("tracks.jsonl -> ../2023L-v2/tracks.jsonl");
    expect(text).toMatch(/^sessions\.jsonl:10 null_event_type: \{"timestamp"/m);
  });
});
