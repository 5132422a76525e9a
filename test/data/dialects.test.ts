// Every accepted dialect, each in a small hand-written delivery: letter case, spellings, timestamp forms,
// gzip, shuffled keys, extra keys, release dates, explicit and storage_class forms.
import { describe, expect, it } from "vitest";
import { loadDelivery } from "../../src/data/index.ts";
import { EventCode } from "../../src/data/types.ts";
import { ev, track, USERS, writeDelivery } from "./fixture.ts";

const T0 = Date.UTC(2023, 4, 6, 7, 8, 9);

describe("event types", () => {
  it("accepts any letter case, both advertisement spellings and buy_premium", async () => {
    const dir = writeDelivery({
      sessions: [
        ev(1, "2023-05-06T07:08:09", 101, "play", "t1"),
        ev(1, "2023-05-06T07:08:10", 101, "SKIP", "t1"),
        ev(1, "2023-05-06T07:08:11", 101, "Play", "t2"),
        ev(1, "2023-05-06T07:08:12", 101, "LiKe", "t2"),
        ev(1, "2023-05-06T07:08:13", 101, "advertisment", null),
        ev(1, "2023-05-06T07:08:14", 101, "ADVERTISEMENT", ""),
        ev(1, "2023-05-06T07:08:15", 101, "Buy_Premium", null),
        ev(1, "2023-05-06T07:08:16", 101, "buy_premium", null),
      ],
    });
    const d = await loadDelivery(dir);
    expect(Array.from(d.events.kind)).toEqual([
      EventCode.play,
      EventCode.skip,
      EventCode.play,
      EventCode.like,
      EventCode.advertisement,
      EventCode.advertisement,
      EventCode.buy_premium,
      EventCode.buy_premium,
    ]);
    expect(Array.from(d.events.trackIndex)).toEqual([0, 0, 1, 1, -1, -1, -1, -1]);
    expect(d.quality.eventTypes).toEqual({ play: 2, skip: 1, like: 1, advertisement: 2, buy_premium: 2 });
    expect(d.quality.dialect.eventTypeSpellings).toEqual({
      play: 1,
      SKIP: 1,
      "play (mixed case)": 1,
      "like (mixed case)": 1,
      advertisment: 1,
      ADVERTISEMENT: 1,
      "buy_premium (mixed case)": 1,
      buy_premium: 1,
    });
    expect(d.quality.files.sessions?.kept).toBe(8);
  });
});

describe("timestamps", () => {
  it("reads ISO with/without fraction, with Z or an offset, epoch ms integers and epoch ms strings", async () => {
    const dir = writeDelivery({
      sessions: [
        ev(1, "2023-05-06T07:08:09", 101, "play", "t1"),
        ev(1, "2023-05-06T07:08:09.5", 101, "play", "t1"),
        ev(1, "2023-05-06T07:08:09.123456", 101, "play", "t1"),
        ev(1, "2023-05-06T07:08:09Z", 101, "play", "t1"),
        ev(1, "2023-05-06T09:08:09.250+02:00", 101, "play", "t1"),
        ev(1, "2023-05-06T02:08:09-0500", 101, "play", "t1"),
        ev(1, "2023-05-06 07:08:09", 101, "play", "t1"),
        ev(1, T0 + 7, 101, "play", "t1"),
        ev(1, String(T0 + 8), 101, "play", "t1"),
      ],
    });
    const d = await loadDelivery(dir);
    expect(Array.from(d.events.timestampMs)).toEqual([
      T0,
      T0 + 500,
      T0 + 123,
      T0,
      T0 + 250,
      T0,
      T0,
      T0 + 7,
      T0 + 8,
    ]);
    expect(d.quality.dialect.timestampForms).toEqual({
      iso: 2,
      iso_fraction: 2,
      iso_zoned: 3,
      epoch_ms: 1,
      epoch_ms_string: 1,
    });
    expect(d.quality.defects.bad_timestamp.found).toBe(0);
  });
});

describe("files and keys", () => {
  const sessions = [
    { event_type: "PLAY", session_id: 7, track_id: "t2", user_id: 102, timestamp: "2023-05-06T07:08:09" },
    {
      session_id: 7,
      user_id: 102,
      timestamp: "2023-05-06T07:09:09",
      track_id: "t2",
      event_type: "SKIP",
      device: "ios",
    },
  ];

  it("reads .jsonl.gz for every file and .jsonl for others, with identical results", async () => {
    const plain = await loadDelivery(writeDelivery({ sessions }));
    const gz = await loadDelivery(
      writeDelivery({ sessions }, ["users", "artists", "tracks", "track_storage", "sessions"]),
    );
    expect(gz.events).toEqual(plain.events);
    expect(gz.catalog).toEqual(plain.catalog);
    expect(gz.quality.files.sessions?.gzip).toBe(true);
    expect(gz.quality.files.sessions?.name).toBe("sessions.jsonl.gz");
    expect(plain.quality.files.sessions?.gzip).toBe(false);
  });

  it("ignores key order and tolerates unknown extra keys (counted in the dialect section)", async () => {
    const users = [...USERS.slice(0, 1), { ...(USERS[1] as object), id: -1 }];
    const d = await loadDelivery(writeDelivery({ sessions, users }));
    expect(d.events.length).toBe(2);
    expect(Array.from(d.events.userId)).toEqual([102, 102]);
    expect(Array.from(d.events.kind)).toEqual([EventCode.play, EventCode.skip]);
    expect(d.quality.dialect.extraKeyRows).toMatchObject({ users: 1, sessions: 1 });
    expect(d.catalog.users.get(102)?.premium).toBe(true);
    expect(d.quality.defects.bad_user_id.found).toBe(0);
  });

  it("accepts CRLF line endings and blank lines", async () => {
    const text = ["", JSON.stringify(sessions[0]), "", JSON.stringify(sessions[1])].join("\r\n");
    const d = await loadDelivery(writeDelivery({ sessions: [text] }));
    expect(d.events.length).toBe(2);
    expect(d.quality.files.sessions).toMatchObject({ lines: 2, blankLines: 2, kept: 2 });
  });

  it("reports progress over the raw bytes of all files, ending at the total", async () => {
    const calls: [number, number][] = [];
    await loadDelivery(writeDelivery({ sessions }, ["sessions"]), {
      onProgress: (read, total) => calls.push([read, total]),
    });
    expect(calls.length).toBeGreaterThanOrEqual(5);
    const total = calls[0][1];
    expect(calls.every(([, t]) => t === total)).toBe(true);
    expect(calls.every(([read], i) => i === 0 || read > calls[i - 1][0])).toBe(true);
    expect(calls[calls.length - 1][0]).toBe(total);
  });

  it("treats track_storage as optional", async () => {
    const d = await loadDelivery(writeDelivery({ sessions, track_storage: null }));
    expect(d.quality.files.track_storage).toBeNull();
    expect(d.catalog.storage.size).toBe(0);
    expect(d.quality.notes.join(" ")).toMatch(/track_storage\.jsonl is absent/);
  });
});

describe("catalogue forms", () => {
  it("normalises release_date YYYY / YYYY-MM / YYYY-MM-DD, explicit 0/1/boolean, storage_class in any case", async () => {
    const tracks = [
      track("t1", "a1", { release_date: "1999", explicit: 1 }),
      track("t2", "a2", { release_date: "2004-07", explicit: true }),
      track("t3", "a1", { release_date: "2010-12-31", explicit: false }),
    ];
    const d = await loadDelivery(writeDelivery({ tracks, sessions: [ev(1, T0, 101, "play", "t1")] }));
    const [t1, t2, t3] = d.catalog.tracks;
    expect([t1.releaseDate, t1.releaseYear, t1.explicit]).toEqual(["1999-01-01", 1999, true]);
    expect([t2.releaseDate, t2.releaseYear, t2.explicit]).toEqual(["2004-07-01", 2004, true]);
    expect([t3.releaseDate, t3.releaseYear, t3.explicit]).toEqual(["2010-12-31", 2010, false]);
    expect(t1.durationMs).toBe(200000);
    expect(t1.artistId).toBe("a1");
    expect(d.quality.dialect.releaseDateForms).toEqual({ YYYY: 1, "YYYY-MM": 1, "YYYY-MM-DD": 1 });
    expect(d.quality.dialect.explicitForms).toEqual({ "0/1": 1, boolean: 2, string: 0 });
    expect([...d.catalog.storage.values()].map((s) => s.storageClass)).toEqual(["slow", "medium", "fast"]);
    expect(d.quality.dialect.storageClassSpellings).toEqual({ SLOW: 1, medium: 1, Fast: 1 });
  });
});
