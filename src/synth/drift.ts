// The drift option of the generator (`--drift-at <day>`): from the start of that day on, P(skip) no longer
// depends on the user or the session. Only the track's appeal (popularity plus its own part) and the time of
// day remain, with an intercept offset fitted once so that the skip share does not jump at the drift.
import { EventCode } from "../data/types.ts";
import { generateCatalog, type SynthCatalog } from "./catalog.ts";
import { Random, type RandomState } from "./random.ts";
import { type DriftModel, PERIOD_START_MS, simulateSessions } from "./sessions.ts";
import { driftedLogit, sigmoid } from "./skip-model.ts";
import type { SizeSpec } from "./types.ts";

const DAY_MS = 86_400_000;

/** The boundary of `--drift-at <day>`: day 0 is the period's first day, 2023-01-01 UTC. */
export function driftStartMs(day: number): number {
  return PERIOD_START_MS + day * DAY_MS;
}

/** Parses `--drift-at`: a whole number of days, 0 or more. */
export function parseDriftDay(text: string | number | undefined): number | undefined {
  if (text === undefined) return undefined;
  const s = String(text).trim();
  if (!/^\d+$/.test(s)) {
    throw new Error(
      `--drift-at must be a whole number of days (0 or more) from the period's first day, got "${text}"`,
    );
  }
  return Number(s);
}

/**
 * The drift of a run: first simulates the same seed's delivery without drift, recording the session stream's
 * state at each user's start (so the drifted run reproduces everything before the drift exactly), then fits
 * the intercept offset on that run's plays before the drift (all plays when there are none): the offset
 * solves mean sigmoid(driftedLogit + offset) = mean true P(skip) over those plays, by bisection, so the
 * drifted model keeps the mean true P(skip) of the undrifted one on the same plays.
 */
export function planDrift(seed: number, size: SizeSpec, atMs: number, firstSessionId: number): DriftModel {
  // A fresh catalogue: simulateSessions records premium purchases in it.
  const catalog: SynthCatalog = generateCatalog(new Random(seed, "catalog"), size);
  const userStates: RandomState[] = [];
  const before = { p: 0, n: 0, base: [] as number[] };
  const all = { p: 0, n: 0, base: [] as number[] };
  const pilot = simulateSessions(
    new Random(seed, "sessions"),
    catalog,
    size,
    firstSessionId,
    undefined,
    userStates,
  );
  for (const b of pilot) {
    for (let i = 0; i < b.length; i++) {
      if (b.kind[i] !== EventCode.play) continue;
      const t = b.timestampMs[i];
      const hour = ((t - PERIOD_START_MS) / 3_600_000) % 24;
      const base = driftedLogit(catalog.tracks.appeal[b.track[i]], hour, 0);
      all.p += b.pSkip[i];
      all.n++;
      all.base.push(base);
      if (t < atMs) {
        before.p += b.pSkip[i];
        before.n++;
        before.base.push(base);
      }
    }
  }
  return {
    atMs,
    offset: fitOffset(before.n > 0 ? before : all),
    random: new Random(seed, "drift"),
    userStates,
  };
}

function fitOffset(pool: { p: number; n: number; base: number[] }): number {
  if (pool.n === 0) return 0;
  const target = pool.p / pool.n;
  const mean = (offset: number) => {
    let s = 0;
    for (const x of pool.base) s += sigmoid(x + offset);
    return s / pool.base.length;
  };
  let lo = -10;
  let hi = 10;
  for (let k = 0; k < 60; k++) {
    const mid = (lo + hi) / 2;
    if (mean(mid) < target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
