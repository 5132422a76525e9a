import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GenerateSummary, generateDelivery, type SizeSpec } from "../../src/synth/index.ts";
import { readJsonl, readLines } from "./read-jsonl.ts";

const SIZE: SizeSpec = { users: 12, artists: 60, tracks: 400, sessions: 60, days: 30 };
let root: string;
const made: Record<string, GenerateSummary> = {};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "skipwise-dialects-"));
  made.L = await generateDelivery({ out: join(root, "L"), size: SIZE, dialect: "2023L" });
  made.Z = await generateDelivery({ out: join(root, "Z"), size: SIZE, dialect: "2023Z" });
  made.epoch = await generateDelivery({
    out: join(root, "epoch"),
    size: SIZE,
    dialect: "epoch",
    gzip: true,
    explicitBool: true,
  });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("dialects", () => {
  it("2023Z: lowercase kinds, 'advertisment', no buy_premium, session_id first, null track on ads", () => {
    const kinds = new Set<unknown>();
    for (const line of readLines(join(root, "Z", "sessions.jsonl"))) {
      const e = JSON.parse(line);
      expect(Object.keys(e)).toEqual(["session_id", "timestamp", "user_id", "track_id", "event_type"]);
      kinds.add(e.event_type);
      if (e.event_type === "advertisment") expect(e.track_id).toBeNull();
      expect(e.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$/);
    }
    expect([...kinds].sort()).toEqual(["advertisment", "like", "play", "skip"]);
    for (const s of readJsonl(join(root, "Z", "track_storage.jsonl"))) {
      expect(["slow", "medium", "fast"]).toContain(s.storage_class);
    }
    expect(made.Z.manifest.counts.eventsByKind.buy_premium).toBe(0);
  });

  it("2023L: UPPERCASE kinds and storage classes", () => {
    const kinds = new Set(readJsonl(join(root, "L", "sessions.jsonl")).map((e) => e.event_type));
    for (const k of kinds) expect(k).toBe((k as string).toUpperCase());
    expect(kinds.has("ADVERTISEMENT")).toBe(true);
    for (const s of readJsonl(join(root, "L", "track_storage.jsonl")))
      expect(s.storage_class).toMatch(/^[A-Z]+$/);
  });

  it("epoch: integer millisecond timestamps, lowercase kinds, gzip files, boolean explicit", () => {
    expect(
      readdirSync(join(root, "epoch"))
        .filter((f) => f.endsWith(".jsonl.gz"))
        .sort(),
    ).toEqual([
      "artists.jsonl.gz",
      "sessions.jsonl.gz",
      "track_storage.jsonl.gz",
      "tracks.jsonl.gz",
      "users.jsonl.gz",
    ]);
    const events = readJsonl(join(root, "epoch", "sessions.jsonl.gz"));
    for (const e of events) {
      expect(Number.isInteger(e.timestamp)).toBe(true);
      expect(e.timestamp as number).toBeGreaterThan(Date.UTC(2023, 0, 1) - 1);
      expect(e.event_type).toBe((e.event_type as string).toLowerCase());
    }
    expect(new Set(events.map((e) => e.event_type)).has("advertisement")).toBe(true);
    for (const t of readJsonl(join(root, "epoch", "tracks.jsonl.gz")))
      expect(typeof t.explicit).toBe("boolean");
  });

  it("mixes YYYY, YYYY-MM and YYYY-MM-DD release dates", () => {
    const lengths = new Set(
      readJsonl(join(root, "L", "tracks.jsonl")).map((t) => (t.release_date as string).length),
    );
    expect([...lengths].sort()).toEqual([10, 4, 7]);
  });

  it("writes the same data in every dialect: same plays, same outcomes, same true probabilities", () => {
    const truth = (name: string) => readJsonl(join(root, name, "truth.jsonl"));
    const L = truth("L");
    for (const other of [truth("Z"), truth("epoch")]) {
      expect(other.map((t) => t.p_skip)).toEqual(L.map((t) => t.p_skip));
      expect(other.map((t) => t.skipped)).toEqual(L.map((t) => t.skipped));
      expect(other.map((t) => t.track_id)).toEqual(L.map((t) => t.track_id));
    }
    const epochTimes = truth("epoch").map((t) => t.timestamp);
    expect(L.map((t) => Date.parse(`${t.timestamp}Z`))).toEqual(epochTimes);
  });

  it("does not change the data when defects are injected", async () => {
    const dir = join(root, "dirty");
    const dirty = await generateDelivery({ out: dir, size: SIZE, dialect: "2023L", defects: { all: 0.02 } });
    expect(readLines(join(dir, "truth.jsonl"))).toEqual(readLines(join(root, "L", "truth.jsonl")));
    expect(dirty.manifest.truth).toEqual(made.L.manifest.truth);
    expect(Object.values(dirty.manifest.injected).reduce((a, b) => a + b, 0)).toBeGreaterThan(50);
  });
});
