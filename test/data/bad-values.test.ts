// Issue 10 item 7, "ingest lets bad values through": numeric fields outside their sane range are quarantined
// with the field and value named, a leading UTF-8 BOM is stripped (a note, no row lost), and the text report
// never prints a raw control character.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { STORAGE_NUMBER_RANGES, TRACK_NUMBER_RANGES } from "../../src/data/catalog.ts";
import { formatQualityReport, loadDelivery } from "../../src/data/index.ts";
import { runIngestCommand } from "../../src/data/ingest-command.ts";
import { visible } from "../../src/data/quality.ts";
import { ev, STORAGE, TRACKS, track, USERS, writeDelivery } from "./fixture.ts";

const SESSIONS = [
  ev(1, "2023-05-06T07:08:09", 101, "play", "t1"),
  ev(1, "2023-05-06T07:08:10", 101, "skip", "t1"),
  ev(2, "2023-05-06T08:00:00", 102, "play", "t2"),
];

/** A track line with `field` written as the raw JSON text `raw` (so 1e309 or -0 reach JSON.parse as written). */
function trackLine(id: string, field: string, raw: string): string {
  const o = track(id, "a1");
  const text = JSON.stringify(o);
  const written = `"${field}":${JSON.stringify(o[field])}`;
  expect(text).toContain(written);
  return text.replace(written, `"${field}":${raw}`);
}

describe("numeric track fields outside their sane range", () => {
  it.each([
    ["duration_ms", "1e308", "duration_ms = 1e+308, not a finite number in (0, 86400000]"],
    ["duration_ms", "1e309", "duration_ms = Infinity, not a finite number in (0, 86400000]"],
    ["duration_ms", "-1e309", "duration_ms = -Infinity, not a finite number in (0, 86400000]"],
    ["duration_ms", "0", "duration_ms = 0, not a finite number in (0, 86400000]"],
    ["duration_ms", "-5", "duration_ms = -5, not a finite number in (0, 86400000]"],
    ["duration_ms", "86400001", "duration_ms = 86400001, not a finite number in (0, 86400000]"],
    ["duration_ms", '"NaN"', 'duration_ms = "NaN", not a finite number in (0, 86400000]'],
    ["duration_ms", "null", "duration_ms = null, not a finite number in (0, 86400000]"],
    ["popularity", "101", "popularity = 101, not a finite number in [0, 100]"],
    ["popularity", "-1", "popularity = -1, not a finite number in [0, 100]"],
    ["danceability", "1.5", "danceability = 1.5, not a finite number in [0, 1]"],
    ["energy", "-0.1", "energy = -0.1, not a finite number in [0, 1]"],
    ["key", "12", "key = 12, not an integer in [-1, 11]"],
    ["key", "2.5", "key = 2.5, not an integer in [-1, 11]"],
    ["loudness", "-500", "loudness = -500, not a finite number in [-100, 20]"],
    ["loudness", "1e309", "loudness = Infinity, not a finite number in [-100, 20]"],
    ["speechiness", "2", "speechiness = 2, not a finite number in [0, 1]"],
    ["acousticness", "-1", "acousticness = -1, not a finite number in [0, 1]"],
    ["instrumentalness", "7", "instrumentalness = 7, not a finite number in [0, 1]"],
    ["liveness", "1.01", "liveness = 1.01, not a finite number in [0, 1]"],
    ["valence", '"0.5"', 'valence = "0.5", not a finite number in [0, 1]'],
    ["tempo", "-1", "tempo = -1, not a finite number in [0, 500]"],
    ["tempo", "1e6", "tempo = 1000000, not a finite number in [0, 500]"],
  ])("%s = %s is bad_track_field, field and value named", async (field, raw, detail) => {
    const dir = writeDelivery({ tracks: [...TRACKS, trackLine("t9", field, raw)], sessions: SESSIONS });
    const d = await loadDelivery(dir);
    expect(d.quality.defects.bad_track_field).toEqual({ found: 1, repaired: 0, quarantined: 1 });
    expect(d.quality.files.tracks).toMatchObject({ lines: 4, kept: 3, quarantined: 1 });
    expect(d.quality.files.tracks?.quarantinedByReason).toEqual({ bad_track_field: 1 });
    expect(d.catalog.trackIndex.has("t9")).toBe(false);
    expect(d.events.length).toBe(3);
    expect(d.quality.examples).toEqual([
      expect.objectContaining({ file: "tracks.jsonl", line: 4, reason: "bad_track_field", detail }),
    ]);
    expect(formatQualityReport(d.quality)).toContain(
      `tracks.jsonl:4 bad_track_field (${detail}): {"id":"t9"`,
    );
  });

  it("keeps the edges of every range and the real data's oddities (tempo 0, key -1, loudness above 0)", async () => {
    const edges = [
      track("e1", "a1", { duration_ms: 1, popularity: 0, key: -1, loudness: -100, tempo: 0 }),
      track("e2", "a1", { duration_ms: 86_400_000, popularity: 100, key: 11, loudness: 20, tempo: 500 }),
      track("e3", "a1", { loudness: 2.487, tempo: 0, danceability: 0, energy: 1, valence: 1 }),
      track("e4", "a1", { acousticness: 1.39e-6, instrumentalness: 0, liveness: 1, speechiness: 0 }),
    ];
    const d = await loadDelivery(writeDelivery({ tracks: [...TRACKS, ...edges], sessions: SESSIONS }));
    expect(d.quality.files.tracks).toMatchObject({ lines: 7, kept: 7, quarantined: 0 });
    expect(d.catalog.tracks[d.catalog.trackIndex.get("e1") as number]).toMatchObject({ key: -1, tempo: 0 });
  });

  it("names the first bad field when several are bad, and id/explicit/release_date problems too", async () => {
    const tracks = [
      ...TRACKS,
      track("b1", "a1", { duration_ms: 0, tempo: -1 }),
      track("", "a1"),
      track("b3", "a1", { explicit: "maybe" }),
      track("b4", "a1", { release_date: "soon" }),
    ];
    const d = await loadDelivery(writeDelivery({ tracks, sessions: SESSIONS }));
    expect(d.quality.defects.bad_track_field.quarantined).toBe(4);
    expect(d.quality.examples.map((e) => e.detail)).toEqual([
      "duration_ms = 0, not a finite number in (0, 86400000]",
      'id = "", not a non-empty string',
      'explicit = "maybe", not 0/1, true/false or those as strings',
      'release_date = "soon", not a date YYYY, YYYY-MM or YYYY-MM-DD',
    ]);
  });

  it("quarantines a daily_cost of 1e308 or below 0 as bad_storage_field, naming it", async () => {
    const storage = [...STORAGE, { track_id: "t4", storage_class: "slow", daily_cost: 1e308 }];
    storage.push({ track_id: "t5", storage_class: "slow", daily_cost: -1 });
    storage.push({ track_id: "t6", storage_class: "slow", daily_cost: 0 });
    const d = await loadDelivery(writeDelivery({ track_storage: storage, sessions: SESSIONS }));
    expect(d.quality.defects.bad_storage_field).toEqual({ found: 2, repaired: 0, quarantined: 2 });
    expect(d.catalog.storage.has("t6")).toBe(true);
    expect(d.quality.examples.map((e) => e.detail)).toEqual([
      "daily_cost = 1e+308, not a finite number in [0, 1000]",
      "daily_cost = -1, not a finite number in [0, 1000]",
    ]);
  });

  it("declares every range with a reason, and duration is capped at 24 h", () => {
    for (const range of [...Object.values(TRACK_NUMBER_RANGES), ...Object.values(STORAGE_NUMBER_RANGES)]) {
      expect(range.why.length).toBeGreaterThan(10);
      expect(Number.isFinite(range.min) && Number.isFinite(range.max)).toBe(true);
    }
    expect(TRACK_NUMBER_RANGES.duration_ms.max).toBe(24 * 3600 * 1000);
  });
});

const BOM = "\uFEFF";

function render(lines: (string | Record<string, unknown>)[]): string {
  return `${lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n")}\n`;
}

describe("a UTF-8 byte-order mark at the start of a file", () => {
  it("is stripped from users.jsonl and sessions.jsonl: no row lost, a note per file", async () => {
    const dir = writeDelivery({ sessions: SESSIONS });
    writeFileSync(join(dir, "users.jsonl"), BOM + render(USERS));
    writeFileSync(join(dir, "sessions.jsonl"), BOM + render(SESSIONS));
    const d = await loadDelivery(dir);
    expect(d.quality.files.users).toMatchObject({ lines: 2, kept: 2, quarantined: 0, bomStripped: true });
    expect(d.quality.files.sessions).toMatchObject({ lines: 3, kept: 3, quarantined: 0, bomStripped: true });
    expect(d.quality.files.tracks?.bomStripped).toBe(false);
    expect(d.events.length).toBe(3);
    expect(d.quality.dialect.sessionsFastPathLines).toBe(3);
    expect(d.catalog.users.size).toBe(2);
    for (const kind of Object.keys(d.quality.defects))
      expect(d.quality.defects[kind as keyof typeof d.quality.defects].found, kind).toBe(0);
    expect(d.quality.notes).toEqual([
      "users.jsonl began with a UTF-8 byte-order mark (bom_stripped): stripped, no row lost",
      "sessions.jsonl began with a UTF-8 byte-order mark (bom_stripped): stripped, no row lost",
    ]);
    expect(formatQualityReport(d.quality)).toContain("note: users.jsonl began with a UTF-8 byte-order mark");
  });

  it("is stripped from gzip files too (every catalogue file and sessions)", async () => {
    const dir = writeDelivery({ sessions: SESSIONS }, [
      "users",
      "artists",
      "tracks",
      "track_storage",
      "sessions",
    ]);
    const files = { users: USERS, tracks: TRACKS, track_storage: STORAGE, sessions: SESSIONS } as const;
    for (const [name, lines] of Object.entries(files))
      writeFileSync(join(dir, `${name}.jsonl.gz`), gzipSync(BOM + render(lines)));
    const d = await loadDelivery(dir);
    expect(d.quality.counts).toMatchObject({ events: 3, users: 2, tracks: 3, storage: 3 });
    for (const name of ["users", "tracks", "track_storage", "sessions"] as const)
      expect(d.quality.files[name], name).toMatchObject({ quarantined: 0, bomStripped: true });
    expect(d.quality.files.artists?.bomStripped).toBe(false);
  });

  it("still finds line 1 repeated later as a duplicate (the plain-file check re-reads after the mark)", async () => {
    const dir = writeDelivery({ sessions: SESSIONS });
    writeFileSync(join(dir, "sessions.jsonl"), BOM + render([...SESSIONS, SESSIONS[0]]));
    const d = await loadDelivery(dir);
    expect(d.quality.defects.duplicate_row).toEqual({ found: 1, repaired: 0, quarantined: 1 });
    expect(d.quality.examples).toEqual([
      expect.objectContaining({ file: "sessions.jsonl", line: 4, reason: "duplicate_row" }),
    ]);
    expect(d.events.length).toBe(3);
  });

  it("is stripped only at the start of the file: later in it, it stays part of the line", async () => {
    const dir = writeDelivery({ sessions: SESSIONS });
    writeFileSync(join(dir, "users.jsonl"), render([USERS[0], BOM + JSON.stringify(USERS[1])]));
    const d = await loadDelivery(dir);
    expect(d.quality.files.users).toMatchObject({ lines: 2, kept: 1, quarantined: 1, bomStripped: false });
    expect(d.quality.defects.malformed_json.quarantined).toBe(1);
  });

  it("a file holding only a mark is empty", async () => {
    const dir = writeDelivery({ sessions: SESSIONS });
    writeFileSync(join(dir, "artists.jsonl"), BOM);
    await expect(loadDelivery(dir)).rejects.toThrow(/artists\.jsonl: file is empty \(no lines\)$/);
  });
});

/** Any control character but the report's own line breaks. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

describe("control characters in the text report", () => {
  it("shows them as visible escapes", () => {
    expect(visible("a\u0000b\u001b[31m\u007f\t\r\n\u0085\u2028\u2029é")).toBe(
      "a\\x00b\\x1b[31m\\x7f\\x09\\x0d\\x0a\\x85\\u2028\\u2029é",
    );
  });

  it("quality.txt holds none raw (NUL, ESC, DEL, TAB, U+2028), quality.json stays valid JSON", async () => {
    // NUL in the first 8 KB would make tracks.jsonl a "binary file": pad with valid tracks first.
    const padding = Array.from({ length: 60 }, (_, i) => track(`p${i}`, "a2"));
    const tracks = [
      ...TRACKS,
      ...padding,
      '{"id": "t\u0000nul", "name": "raw NUL in the id"}', // malformed_json (raw control char in a string)
      trackLine("t\u001b[31mred", "duration_ms", "0").replace('"name":"Track', '"name":"\u2028Track\u007f'),
    ];
    const sessions = [
      ...SESSIONS,
      '{"session_id": 3, "timestamp": "2023-05-06T09:00:00", "user_id": 101, "track_id": "t\u001b[2J", "event_type": "play"}',
      ev(3, "2023-05-06T09:00:01", 101, "pl\u0000ay", "t1"),
    ];
    const storage = [...STORAGE.slice(1), { track_id: "t1", storage_class: "\tslow", daily_cost: 0.01 }];
    const dir = writeDelivery({ tracks, sessions, track_storage: storage });
    const out = mkdtempSync(join(tmpdir(), "skipwise-ingest-"));
    let printed = "";
    const stdout = new Writable({
      write(chunk, _encoding, done) {
        printed += String(chunk);
        done();
      },
    });
    const stderr = { isTTY: false } as NodeJS.WriteStream;
    const d = await runIngestCommand(dir, { out, stdout, stderr });
    expect(d.quality.defects.malformed_json.quarantined).toBe(2);
    expect(d.quality.defects.bad_track_field.quarantined).toBe(1);
    expect(d.quality.defects.unknown_event_type.quarantined).toBe(1);

    const text = readFileSync(join(out, "quality.txt"), "utf8");
    expect(text).toBe(printed);
    expect(text).not.toMatch(RAW_CONTROL);
    expect(text).toContain('tracks.jsonl:64 malformed_json: {"id": "t\\x00nul"');
    expect(text).toContain('sessions.jsonl:4 malformed_json: {"session_id": 3');
    expect(text).toContain('"track_id": "t\\x1b[2J"');
    // a JSON-escaped control character stays as the line spelt it; the raw U+2028 and DEL are escaped
    expect(text).toContain(
      'tracks.jsonl:65 bad_track_field (duration_ms = 0, not a finite number in (0, 86400000]): {"id":"t\\u001b[31mred","name":"\\u2028Track\\x7f',
    );
    expect(text).toMatch(/^storage_class spellings: .*\\x09slow 1/m);
    expect(text).toContain('"pl\\u0000ay" (unknown)');

    const json = JSON.parse(readFileSync(join(out, "quality.json"), "utf8"));
    expect(json.examples.map((e: { excerpt: string }) => e.excerpt).join("")).toContain("t\u0000nul");
    expect(json.dialect.storageClassSpellings).toEqual({ medium: 1, Fast: 1, "\tslow": 1 });
  });
});
