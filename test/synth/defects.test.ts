import { describe, expect, it } from "vitest";
import { EventCode } from "../../src/data/types.ts";
import {
  countRepairable,
  defectRates,
  INJECTABLE_DEFECTS,
  InjectionLedger,
  malformedVersion,
  NO_DEFECT,
  parseDefectSpec,
  planSessionDefects,
  rowDefectCode,
} from "../../src/synth/defects.ts";
import { Random } from "../../src/synth/random.ts";

const { play, skip, like, advertisement } = EventCode;

describe("parseDefectSpec", () => {
  it("reads kind=rate lists and fills every other kind with 0", () => {
    const rates = parseDefectSpec("null_user_id=0.01, duplicate_row=0.5");
    expect(rates.null_user_id).toBe(0.01);
    expect(rates.duplicate_row).toBe(0.5);
    expect(rates.bad_timestamp).toBe(0);
    expect(Object.keys(rates).sort()).toEqual([...INJECTABLE_DEFECTS].sort());
  });

  it("sets every kind with all=rate", () => {
    const rates = parseDefectSpec("all=0.02");
    for (const kind of INJECTABLE_DEFECTS) expect(rates[kind]).toBe(0.02);
  });

  it("rejects unknown kinds, bad rates and row rates summing above 1 with a clear message", () => {
    expect(() => parseDefectSpec("nul_user_id=0.1")).toThrow(/unknown defect kind "nul_user_id"/);
    expect(() => parseDefectSpec("null_user_id")).toThrow(/not kind=rate/);
    expect(() => parseDefectSpec("null_user_id=1.5")).toThrow(/between 0 and 1/);
    expect(() => parseDefectSpec("null_user_id=0.6,bad_timestamp=0.6")).toThrow(/sum to 1.2/);
    expect(() => defectRates({ all: 0.5 })).toThrow(/all=0.5/);
  });
});

/** A session like the simulator writes: play, like, skip, play, ad, play, skip, ... */
function sessionKinds(length: number, random: Random): Uint8Array {
  const kinds: number[] = [];
  while (kinds.length < length) {
    kinds.push(play);
    if (random.bernoulli(0.3)) kinds.push(like);
    if (random.bernoulli(0.3)) kinds.push(skip);
    if (random.bernoulli(0.2)) kinds.push(advertisement);
  }
  return Uint8Array.from(kinds.slice(0, length));
}

describe("planSessionDefects", () => {
  const nullUser = rowDefectCode("null_user_id");
  const nullTrack = rowDefectCode("null_track_id");
  const unknownUser = rowDefectCode("unknown_user");
  const nullSession = rowDefectCode("null_session_id");
  const unknownTrack = rowDefectCode("unknown_track");

  it("never puts a defect before a null track id, nor track defects on rows without a track", () => {
    const random = new Random(11);
    const rates = defectRates({
      null_track_id: 0.3,
      unknown_track: 0.2,
      bad_timestamp: 0.2,
      null_event_type: 0.2,
    });
    let nullTracks = 0;
    for (let s = 0; s < 300; s++) {
      const kinds = sessionKinds(2 + random.int(30), random);
      const codes = new Uint8Array(kinds.length);
      planSessionDefects(kinds, kinds.length, random, rates, codes);
      for (let i = 0; i < kinds.length; i++) {
        if (codes[i] === nullTrack || codes[i] === unknownTrack) expect(kinds[i]).not.toBe(advertisement);
        if (codes[i] === nullTrack) {
          nullTracks++;
          if (i > 0) expect(codes[i - 1]).toBe(NO_DEFECT);
        }
      }
    }
    expect(nullTracks).toBeGreaterThan(100);
  });

  it("keeps sessions with a null user id free of user-changing defects and with a clean row unless anonymous", () => {
    const random = new Random(12);
    const rates = defectRates({
      null_user_id: 0.2,
      unknown_user: 0.2,
      null_session_id: 0.2,
      bad_timestamp: 0.3,
    });
    let anonymous = 0;
    let mixed = 0;
    for (let s = 0; s < 500; s++) {
      const kinds = sessionKinds(1 + random.int(8), random);
      const codes = new Uint8Array(kinds.length);
      planSessionDefects(kinds, kinds.length, random, rates, codes);
      const list = Array.from(codes);
      if (!list.includes(nullUser)) continue;
      expect(list).not.toContain(unknownUser);
      expect(list).not.toContain(nullSession);
      if (list.every((c) => c === nullUser)) anonymous++;
      else {
        expect(list).toContain(NO_DEFECT);
        mixed++;
      }
    }
    expect(anonymous).toBeGreaterThan(0);
    expect(mixed).toBeGreaterThan(0);
  });

  it("injects each kind at about its rate per eligible row", () => {
    const random = new Random(13);
    const rates = defectRates({ null_event_type: 0.05, bad_timestamp: 0.05 });
    let rows = 0;
    let hits = 0;
    for (let s = 0; s < 2000; s++) {
      const kinds = sessionKinds(20, random);
      const codes = new Uint8Array(kinds.length);
      planSessionDefects(kinds, kinds.length, random, rates, codes);
      rows += kinds.length;
      for (const c of codes) if (c === rowDefectCode("null_event_type")) hits++;
    }
    expect(hits / rows).toBeGreaterThan(0.045);
    expect(hits / rows).toBeLessThan(0.055);
  });
});

describe("countRepairable", () => {
  it("follows the agreed rules: skip/like right after a clean play; null users with another row", () => {
    const ledger = new InjectionLedger();
    const nullTrack = rowDefectCode("null_track_id");
    const nullUser = rowDefectCode("null_user_id");
    // play, like(null track: repairable), skip(null track: after a like, not repairable), play(null track: no)
    countRepairable(
      Uint8Array.from([play, like, skip, play]),
      Uint8Array.from([NO_DEFECT, nullTrack, nullTrack, nullTrack]),
      4,
      ledger,
    );
    expect(ledger.repairable.null_track_id).toBe(1);
    expect(ledger.unrepairable.null_track_id).toBe(2);
    countRepairable(Uint8Array.from([play, skip]), Uint8Array.from([nullUser, NO_DEFECT]), 2, ledger);
    countRepairable(Uint8Array.from([play, skip]), Uint8Array.from([nullUser, nullUser]), 2, ledger);
    expect(ledger.repairable.null_user_id).toBe(1);
    expect(ledger.unrepairable.null_user_id).toBe(2);
  });
});

describe("malformedVersion", () => {
  it("breaks a line so that JSON.parse rejects it", () => {
    const random = new Random(14);
    const line =
      '{"timestamp": "2023-01-03T05:09:55", "user_id": 101, "track_id": "x", "event_type": "PLAY", "session_id": 124}';
    for (let i = 0; i < 200; i++) {
      const broken = malformedVersion(line, random);
      expect(broken).not.toBe(line);
      expect(() => JSON.parse(broken)).toThrow();
    }
  });
});
