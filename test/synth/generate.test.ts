import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GenerateSummary, generateDelivery } from "../../src/synth/index.ts";
import { exactAuc, readJsonl, readLines } from "./read-jsonl.ts";

const FILES = [
  "sessions.jsonl",
  "users.jsonl",
  "artists.jsonl",
  "tracks.jsonl",
  "track_storage.jsonl",
  "truth.jsonl",
];
let root: string;
let summary: GenerateSummary;
let dir: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "skipwise-synth-"));
  dir = join(root, "small");
  summary = await generateDelivery({ out: dir, size: "small" });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("generateDelivery (small, 2023L)", () => {
  it("writes every file plus manifest.json and leaves no temp folder", () => {
    expect(readdirSync(dir).sort()).toEqual([...FILES, "manifest.json"].sort());
    expect(readdirSync(root)).toEqual(["small"]);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    expect(manifest).toEqual(JSON.parse(JSON.stringify(summary.manifest)));
    expect(manifest.seed).toBe(42);
    expect(manifest.dialect).toBe("2023L");
    expect(manifest.files.sessions.lines).toBe(readLines(join(dir, "sessions.jsonl")).length);
  });

  it("is deterministic: the same seed gives byte-identical files, another seed different ones", async () => {
    const again = join(root, "again");
    const other = join(root, "other");
    await generateDelivery({ out: again, size: "small" });
    await generateDelivery({ out: other, size: "small", seed: 43 });
    for (const file of [...FILES, "manifest.json"]) {
      expect(readFileSync(join(again, file)).equals(readFileSync(join(dir, file))), file).toBe(true);
    }
    expect(
      readFileSync(join(other, "sessions.jsonl")).equals(readFileSync(join(dir, "sessions.jsonl"))),
    ).toBe(false);
    rmSync(again, { recursive: true });
    rmSync(other, { recursive: true });
  });

  it("has about the asked sizes", () => {
    const m = summary.manifest;
    expect(readLines(join(dir, "users.jsonl"))).toHaveLength(20);
    expect(readLines(join(dir, "tracks.jsonl"))).toHaveLength(300);
    expect(readLines(join(dir, "artists.jsonl"))).toHaveLength(100);
    expect(m.counts.sessions).toBe(150);
    expect(m.counts.events).toBeGreaterThan(3_500);
    expect(m.counts.events).toBeLessThan(7_000);
  });

  it("writes sessions in the 2023L schema", () => {
    const kinds = new Set(["PLAY", "SKIP", "LIKE", "ADVERTISEMENT", "BUY_PREMIUM"]);
    const keys = "timestamp,user_id,track_id,event_type,session_id";
    const problems: string[] = [];
    let fractions = 0;
    let whole = 0;
    for (const line of readLines(join(dir, "sessions.jsonl"))) {
      const e = JSON.parse(line);
      const noTrack = e.event_type === "ADVERTISEMENT" || e.event_type === "BUY_PREMIUM";
      const ok =
        Object.keys(e).join(",") === keys &&
        /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}000)?$/.test(e.timestamp) &&
        Number.isInteger(e.user_id) &&
        Number.isInteger(e.session_id) &&
        kinds.has(e.event_type) &&
        (noTrack ? e.track_id === "" : /^[0-9A-Za-z]{22}$/.test(e.track_id));
      if (!ok) problems.push(line);
      if (e.timestamp.length > 19) fractions++;
      else whole++;
    }
    expect(problems).toEqual([]);
    expect(fractions).toBeGreaterThan(0);
    expect(whole).toBeGreaterThan(0);
  });

  it("writes tracks, users, artists and track_storage in the real schema", () => {
    const tracks = readJsonl(join(dir, "tracks.jsonl"));
    const forms = new Set<number>();
    for (const t of tracks) {
      expect(Object.keys(t)).toEqual([
        "id",
        "name",
        "popularity",
        "duration_ms",
        "explicit",
        "id_artist",
        "release_date",
        "danceability",
        "energy",
        "key",
        "loudness",
        "speechiness",
        "acousticness",
        "instrumentalness",
        "liveness",
        "valence",
        "tempo",
      ]);
      expect(
        Number.isInteger(t.popularity) && (t.popularity as number) >= 0 && (t.popularity as number) <= 100,
      ).toBe(true);
      expect(Number.isInteger(t.duration_ms)).toBe(true);
      expect([0, 1]).toContain(t.explicit);
      expect(t.release_date).toMatch(/^\d{4}(-\d{2}(-\d{2})?)?$/);
      forms.add((t.release_date as string).length);
      expect(Number.isInteger(t.key) && (t.key as number) <= 11).toBe(true);
      for (const k of [
        "danceability",
        "energy",
        "speechiness",
        "acousticness",
        "instrumentalness",
        "liveness",
        "valence",
      ]) {
        expect(t[k] as number).toBeGreaterThanOrEqual(0);
        expect(t[k] as number).toBeLessThanOrEqual(1);
      }
      expect(t.loudness as number).toBeLessThanOrEqual(0);
      expect(t.tempo as number).toBeGreaterThan(0);
    }
    // YYYY and YYYY-MM-DD are common; YYYY-MM is rare (checked on a larger catalogue in dialects.test.ts)
    expect(forms.has(4) && forms.has(10)).toBe(true);
    const durations = tracks.map((t) => t.duration_ms as number).sort((a, b) => a - b);
    const median = durations[durations.length >> 1];
    expect(median).toBeGreaterThan(180_000);
    expect(median).toBeLessThan(250_000);

    const artists = readJsonl(join(dir, "artists.jsonl"));
    const artistIds = new Set(artists.map((a) => a.id));
    for (const a of artists) {
      expect(Object.keys(a)).toEqual(["id", "name", "genres"]);
      const genres = a.genres as string[];
      expect(genres.length).toBeGreaterThanOrEqual(1);
      expect(genres.length).toBeLessThanOrEqual(6);
      expect(new Set(genres).size).toBe(genres.length);
    }
    for (const t of tracks) expect(artistIds.has(t.id_artist)).toBe(true);

    const users = readJsonl(join(dir, "users.jsonl"));
    for (const u of users) {
      expect(Object.keys(u)).toEqual([
        "user_id",
        "name",
        "city",
        "street",
        "favourite_genres",
        "premium_user",
      ]);
      expect(u.favourite_genres as string[]).toHaveLength(3);
      expect(typeof u.premium_user).toBe("boolean");
    }
    expect(users.map((u) => u.user_id)).toEqual(users.map((_, i) => 101 + i));

    const storage = readJsonl(join(dir, "track_storage.jsonl"));
    expect(storage.map((s) => s.track_id)).toEqual(tracks.map((t) => t.id));
    for (const s of storage) {
      expect(["SLOW", "MEDIUM", "FAST"]).toContain(s.storage_class);
      expect(s.daily_cost as number).toBeGreaterThan(0);
    }
  });

  it("follows the real event semantics", () => {
    const events = readJsonl(join(dir, "sessions.jsonl"));
    const duration = new Map(
      readJsonl(join(dir, "tracks.jsonl")).map((t) => [t.id, t.duration_ms as number]),
    );
    const ms = (t: unknown) => Date.parse(`${t}Z`);
    const problems: string[] = [];
    const check = (ok: boolean, i: number, rule: string) => {
      if (!ok) problems.push(`line ${i + 1}: ${rule}`);
    };
    let skips = 0;
    let likes = 0;
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      const previous = events[i - 1];
      const sameSession = previous !== undefined && previous.session_id === e.session_id;
      if (sameSession) {
        check(previous.user_id === e.user_id, i, "one user per session");
        check(ms(e.timestamp) >= ms(previous.timestamp), i, "time never goes back within a session");
      } else {
        check(e.event_type === "PLAY", i, "a session starts with a play");
      }
      if (e.event_type === "SKIP") {
        skips++;
        // the play being skipped: the nearest earlier play of the session (a like may sit between)
        let j = i - 1;
        while (events[j].event_type === "LIKE") j--;
        const play = events[j];
        check(
          play.event_type === "PLAY" && play.track_id === e.track_id,
          i,
          "a skip follows a play of its track",
        );
        check(play.session_id === e.session_id, i, "... in the same session");
        const heard = ms(e.timestamp) - ms(play.timestamp);
        check(heard > 0 && heard < (duration.get(e.track_id) as number), i, "skipped before the end");
        const next = events[i + 1];
        if (next && next.session_id === e.session_id) {
          check(next.timestamp === e.timestamp, i, "the next event starts at the skip time");
        }
      }
      if (e.event_type === "LIKE") {
        likes++;
        check(
          previous.event_type === "PLAY" && previous.track_id === e.track_id,
          i,
          "a like follows its play",
        );
        const at = ms(e.timestamp) - ms(previous.timestamp);
        check(at > 0 && at < (duration.get(e.track_id) as number), i, "a like falls inside the play");
      }
      if (e.event_type === "PLAY" && sameSession && previous.event_type === "PLAY") {
        const gap = ms(e.timestamp) - ms(previous.timestamp);
        check(gap === duration.get(previous.track_id), i, "a played-out track lasts its duration");
      }
    }
    expect(problems.slice(0, 10)).toEqual([]);
    expect(skips).toBeGreaterThan(0);
    expect(likes).toBeGreaterThan(0);
  });

  it("shows ads only to users without premium at the time, and premium purchases after an ad", () => {
    const events = readJsonl(join(dir, "sessions.jsonl"));
    const users = new Map(readJsonl(join(dir, "users.jsonl")).map((u) => [u.user_id, u.premium_user]));
    const bought = new Set<unknown>();
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      if (e.event_type === "BUY_PREMIUM") {
        expect(events[i - 1].event_type).toBe("ADVERTISEMENT");
        expect(users.get(e.user_id)).toBe(true);
        bought.add(e.user_id);
      }
      if (e.event_type === "ADVERTISEMENT")
        expect(users.get(e.user_id) === false || !bought.has(e.user_id)).toBe(true);
    }
    const ads = events.filter((e) => e.event_type === "ADVERTISEMENT").length;
    expect(ads / events.length).toBeGreaterThan(0.05);
  });

  it("skips about a quarter of the plays", () => {
    const share = summary.manifest.truth.skipShare;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.3);
    const events = readJsonl(join(dir, "sessions.jsonl"));
    const plays = events.filter((e) => e.event_type === "PLAY").length;
    const skips = events.filter((e) => e.event_type === "SKIP").length;
    expect(skips / plays).toBeCloseTo(share, 10);
  });

  it("writes one truth line per play, calibrated and informative", () => {
    const truth = readJsonl(join(dir, "truth.jsonl"));
    const plays = readJsonl(join(dir, "sessions.jsonl")).filter((e) => e.event_type === "PLAY");
    expect(truth).toHaveLength(plays.length);
    const skipped = new Set(
      readJsonl(join(dir, "sessions.jsonl"))
        .filter((e) => e.event_type === "SKIP")
        .map((e) => `${e.session_id}|${e.track_id}`),
    );
    for (let i = 0; i < plays.length; i++) {
      expect(truth[i].session_id).toBe(plays[i].session_id);
      expect(truth[i].timestamp).toBe(plays[i].timestamp);
      expect(truth[i].track_id).toBe(plays[i].track_id);
      expect(truth[i].p_skip as number).toBeGreaterThan(0);
      expect(truth[i].p_skip as number).toBeLessThan(1);
      if (truth[i].skipped === 1)
        expect(skipped.has(`${plays[i].session_id}|${plays[i].track_id}`)).toBe(true);
    }
    const p = truth.map((t) => t.p_skip as number);
    const y = truth.map((t) => t.skipped as number);
    const meanP = p.reduce((a, b) => a + b, 0) / p.length;
    const share = y.reduce((a, b) => a + b, 0) / y.length;
    expect(Math.abs(meanP - share)).toBeLessThan(0.02);
    const auc = exactAuc(p, y);
    expect(auc).toBeGreaterThan(0.7);
    expect(summary.manifest.truth.rocAuc).toBeCloseTo(auc, 3);
    // calibrated by decile too, not just on average
    const order = p.map((_, i) => i).sort((a, b) => p[a] - p[b]);
    for (const [lo, hi] of [
      [0, 0.2],
      [0.8, 1],
    ]) {
      const part = order.slice(Math.floor(lo * order.length), Math.floor(hi * order.length));
      const predicted = part.reduce((s, i) => s + p[i], 0) / part.length;
      const observed = part.reduce((s, i) => s + y[i], 0) / part.length;
      expect(Math.abs(predicted - observed)).toBeLessThan(0.06);
    }
  });

  it("spreads sessions over the period and skews activity across users", () => {
    const events = readJsonl(join(dir, "sessions.jsonl"));
    const days =
      (Date.parse(summary.manifest.timeRange.to) - Date.parse(summary.manifest.timeRange.from)) / 86_400_000;
    expect(days).toBeGreaterThan(50);
    const perUser = new Map<unknown, number>();
    for (const e of events) perUser.set(e.user_id, (perUser.get(e.user_id) ?? 0) + 1);
    const counts = [...perUser.values()].sort((a, b) => a - b);
    expect(counts.length).toBe(20);
    expect(counts[counts.length - 1] / counts[0]).toBeGreaterThan(3);
  });

  it("refuses to overwrite a non-empty folder unless forced, and then replaces it", async () => {
    await expect(generateDelivery({ out: dir, size: "small" })).rejects.toThrow(/not empty.*--force/);
    const again = await generateDelivery({ out: dir, size: "small", seed: 7, force: true });
    expect(again.manifest.seed).toBe(7);
    expect(existsSync(join(dir, "truth.jsonl"))).toBe(true);
    expect(readdirSync(root).filter((n) => n.includes("tmp") || n.includes("old"))).toEqual([]);
    summary = await generateDelivery({ out: dir, size: "small", force: true });
  });

  it("rejects bad options with a clear message", async () => {
    await expect(generateDelivery({ out: join(root, "x"), size: "huge" as never })).rejects.toThrow(
      /unknown size "huge"/,
    );
    await expect(generateDelivery({ out: join(root, "x"), dialect: "2024" as never })).rejects.toThrow(
      /unknown dialect/,
    );
    await expect(generateDelivery({ out: join(root, "x"), defects: { nope: 0.1 } })).rejects.toThrow(
      /unknown defect/,
    );
    expect(existsSync(join(root, "x"))).toBe(false);
  });
});
