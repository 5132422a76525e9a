// `--drift-at <day>`: after the drift day P(skip) depends on neither user nor session. Checked on the written
// files against facts computed here by hand (the time-of-day term from the manifest's skip model, popularity
// from tracks.jsonl), not against the generator's own functions.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runGenerateCommand } from "../../src/synth/generate-command.ts";
import { type GenerateSummary, generateDelivery, type SizeSpec } from "../../src/synth/index.ts";
import { readJsonl, readLines } from "./read-jsonl.ts";

const SIZE: SizeSpec = { users: 60, artists: 200, tracks: 600, sessions: 500, days: 40 };
const DRIFT_DAY = 20;
const DRIFT_MS = Date.UTC(2023, 0, 1) + DRIFT_DAY * 86_400_000;

interface Play {
  user: number;
  track: string;
  position: number;
  ms: number;
  p: number;
  skipped: number;
}

let root: string;
let drifted: GenerateSummary;
let plays: Play[];

function readPlays(dir: string): Play[] {
  return readJsonl(join(dir, "truth.jsonl")).map((r) => ({
    user: r.user_id as number,
    track: r.track_id as string,
    position: r.position as number,
    ms: Date.parse(`${r.timestamp as string}Z`),
    p: r.p_skip as number,
    skipped: r.skipped as number,
  }));
}

/** logit(p) minus the time-of-day term: what is left of the logit besides the hour. */
function residual(play: Play, timeOfDay: number): number {
  const hour = ((play.ms - Date.UTC(2023, 0, 1)) / 3_600_000) % 24;
  return Math.log(play.p / (1 - play.p)) - timeOfDay * Math.cos((2 * Math.PI * (hour - 3)) / 24);
}

function sd(xs: number[]): number {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Per track, the residuals with the user and position of each play. */
function byTrack(
  list: Play[],
  timeOfDay: number,
): Map<string, { r: number; user: number; position: number }[]> {
  const map = new Map<string, { r: number; user: number; position: number }[]>();
  for (const play of list) {
    const entry = { r: residual(play, timeOfDay), user: play.user, position: play.position };
    const rows = map.get(play.track);
    if (rows) rows.push(entry);
    else map.set(play.track, [entry]);
  }
  return map;
}

/** Per-user mean true P(skip) over users with at least `min` plays. */
function userMeans(list: Play[], min: number): number[] {
  const sums = new Map<number, number[]>();
  for (const play of list) {
    const s = sums.get(play.user) ?? [];
    s.push(play.p);
    sums.set(play.user, s);
  }
  return [...sums.values()].filter((s) => s.length >= min).map(mean);
}

function quiet(): Writable {
  return new Writable({ write: (_c, _e, done) => done() });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "skipwise-drift-"));
  await generateDelivery({ out: join(root, "plain"), size: SIZE });
  drifted = await generateDelivery({ out: join(root, "drift"), size: SIZE, driftAt: DRIFT_DAY });
  plays = readPlays(join(root, "drift"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("generate --drift-at", () => {
  it("records the drift in manifest.json, with the plays on each side", () => {
    const manifest = JSON.parse(readFileSync(join(root, "drift", "manifest.json"), "utf8"));
    expect(manifest.drift).toMatchObject({ day: DRIFT_DAY, from: "2023-01-21T00:00:00.000Z", applied: true });
    const after = plays.filter((p) => p.ms >= DRIFT_MS).length;
    expect(manifest.drift.playsAfter).toBe(after);
    expect(manifest.drift.playsBefore).toBe(plays.length - after);
    expect(after).toBeGreaterThan(3000);
    expect(plays.length - after).toBeGreaterThan(3000);
  });

  it("leaves every play and event before the drift day exactly as the delivery without drift", () => {
    const linesBefore = (dir: string, file: string) =>
      readLines(join(root, dir, file)).filter((line) => {
        const ts = JSON.parse(line).timestamp as string;
        return Date.parse(`${ts}Z`) < DRIFT_MS;
      });
    for (const file of ["truth.jsonl", "sessions.jsonl"]) {
      const plain = linesBefore("plain", file);
      expect(plain.length).toBeGreaterThan(3000);
      expect(linesBefore("drift", file)).toEqual(plain);
    }
  });

  it("before the drift, P(skip) of the same track differs between users and positions", () => {
    const timeOfDay = drifted.manifest.skipModel.timeOfDay;
    let tracks = 0;
    let varying = 0;
    for (const rows of byTrack(
      plays.filter((p) => p.ms < DRIFT_MS),
      timeOfDay,
    ).values()) {
      if (new Set(rows.map((r) => r.user)).size < 2) continue;
      tracks++;
      const rs = rows.map((r) => r.r);
      if (Math.max(...rs) - Math.min(...rs) > 0.3) varying++;
    }
    expect(tracks).toBeGreaterThan(50);
    expect(varying / tracks).toBeGreaterThan(0.8);
    // Users differ: the per-user mean true P(skip) is spread (propensity sd 0.9 on the logit).
    expect(
      sd(
        userMeans(
          plays.filter((p) => p.ms < DRIFT_MS),
          30,
        ),
      ),
    ).toBeGreaterThan(0.06);
  });

  it("after the drift, P(skip) of a track at a given hour is the same for every user and position", () => {
    const timeOfDay = drifted.manifest.skipModel.timeOfDay;
    let shared = 0;
    let positions = 0;
    const perTrack: { r: number; track: string }[] = [];
    for (const [track, rows] of byTrack(
      plays.filter((p) => p.ms >= DRIFT_MS),
      timeOfDay,
    )) {
      const rs = rows.map((r) => r.r);
      // p_skip is written with 6 decimals, so equal logits agree to about 1e-5 after the round trip.
      expect(Math.max(...rs) - Math.min(...rs), track).toBeLessThan(1e-4);
      if (new Set(rows.map((r) => r.user)).size >= 2) shared++;
      if (new Set(rows.map((r) => r.position)).size >= 2) positions++;
      perTrack.push({ r: rs[0], track });
    }
    expect(shared).toBeGreaterThan(50); // tracks heard by several users after the drift
    expect(positions).toBeGreaterThan(50); // and at several positions
    // What is left is the track: -0.3 per 10 popularity points above 30, plus the small own appeal (sd 0.1),
    // around intercept + offset.
    const popularity = new Map(
      readJsonl(join(root, "drift", "tracks.jsonl")).map((t) => [t.id as string, t.popularity as number]),
    );
    const own = perTrack.map(({ r, track }) => r - (-0.3 * ((popularity.get(track) as number) - 30)) / 10);
    expect(sd(own)).toBeGreaterThan(0.07);
    expect(sd(own)).toBeLessThan(0.13);
    expect(mean(own)).toBeCloseTo(-0.4 + (drifted.manifest.drift?.interceptOffset as number), 1);
    // Per-user means now differ only through the tracks they pick: far less spread than before.
    const spreadAfter = sd(
      userMeans(
        plays.filter((p) => p.ms >= DRIFT_MS),
        30,
      ),
    );
    const spreadBefore = sd(
      userMeans(
        plays.filter((p) => p.ms < DRIFT_MS),
        30,
      ),
    );
    expect(spreadAfter).toBeLessThan(spreadBefore / 2);
  });

  it("after the drift, P(skip) does not depend on the position in the session", () => {
    // Mean residual by position band: flat after the drift; before it fatigue adds up to +0.9 on the logit.
    const timeOfDay = drifted.manifest.skipModel.timeOfDay;
    const band = (list: Play[], lo: number, hi: number) =>
      mean(list.filter((p) => p.position >= lo && p.position < hi).map((p) => residual(p, timeOfDay)));
    const after = plays.filter((p) => p.ms >= DRIFT_MS);
    const before = plays.filter((p) => p.ms < DRIFT_MS);
    expect(Math.abs(band(after, 25, 150) - band(after, 0, 3))).toBeLessThan(0.1);
    expect(band(before, 25, 150) - band(before, 0, 3)).toBeGreaterThan(0.4);
  });

  it("keeps the skip share within a few points across the drift", () => {
    const before = plays.filter((p) => p.ms < DRIFT_MS);
    const after = plays.filter((p) => p.ms >= DRIFT_MS);
    expect(Math.abs(mean(after.map((p) => p.p)) - mean(before.map((p) => p.p)))).toBeLessThan(0.02);
    expect(Math.abs(mean(after.map((p) => p.skipped)) - mean(before.map((p) => p.skipped)))).toBeLessThan(
      0.03,
    );
  });

  it("a day at or past the end of the period means no drift: the same data as without it", async () => {
    const out = join(root, "late");
    let text = "";
    const stdout = new Writable({
      write(chunk, _e, done) {
        text += chunk.toString();
        done();
      },
    });
    const summary = await runGenerateCommand({ out, size: "small", driftAt: "60", stdout });
    expect(text).toMatch(/drift at day 60 is at or past the end of the 60-day period: no drift/);
    expect(summary.manifest.drift).toMatchObject({ day: 60, applied: false, playsAfter: 0 });
    await generateDelivery({ out: join(root, "small"), size: "small" });
    for (const file of ["sessions.jsonl", "truth.jsonl", "users.jsonl"]) {
      expect(readFileSync(join(out, file)).equals(readFileSync(join(root, "small", file)))).toBe(true);
    }
  });

  it("rejects a negative, fractional or non-numeric day, naming the flag", async () => {
    for (const bad of ["-1", "1.5", "abc", "", "3d"]) {
      await expect(
        runGenerateCommand({ out: join(root, `bad${bad}`), size: "small", driftAt: bad, stdout: quiet() }),
      ).rejects.toThrow(/--drift-at must be a whole number of days/);
    }
    await expect(generateDelivery({ out: join(root, "bad"), size: "small", driftAt: -2 })).rejects.toThrow(
      /--drift-at must be a whole number of days/,
    );
    await expect(generateDelivery({ out: join(root, "bad"), size: "small", driftAt: 0.5 })).rejects.toThrow(
      /--drift-at/,
    );
  });
});
