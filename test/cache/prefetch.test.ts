import { describe, expect, it } from "vitest";
import {
  cacheAllPlan,
  cacheNothingPlan,
  decisionPlan,
  oraclePlan,
  partialPlan,
  thresholdDecisions,
} from "../../src/cache/plans.ts";
import { accountPlan, planCosts } from "../../src/cache/prefetch.ts";
import { markFrontier, simulateCache } from "../../src/cache/simulate.ts";
import type { CacheListen, RecommendedPolicy, SweepPoint } from "../../src/cache/types.ts";
import { costOf, DEFAULT_COST_MODEL } from "../../src/listens/cost-model.ts";

// 8 kbit/s = 1000 B/s makes 1 ms = 1 byte, so hand sums read directly.
const BITRATE = 8;
const HAND_COSTS = { wastePerMb: 10, stall: 1, bitrateKbps: BITRATE };

function listen(
  trackId: string,
  durationMs: number,
  heardMs: number,
  skipped: boolean,
  startMs: number,
  sessionId = 1,
): CacheListen {
  return { userId: 7, sessionId, trackId, durationMs, heardMs, skipped, startMs };
}

// Session 1: a full play, a skip at 30 s of 200 s, a skip at 0 s, a full play. Session 2: a skip at 90 s of 100 s, a full play.
const LISTENS: CacheListen[] = [
  listen("a", 180_000, 180_000, false, 0),
  listen("b", 200_000, 30_000, true, 180_000),
  listen("c", 150_000, 0, true, 210_000),
  listen("d", 240_000, 240_000, false, 210_000),
  listen("e", 100_000, 90_000, true, 1_000_000, 2),
  listen("f", 120_000, 120_000, false, 1_090_000, 2),
];
const TOTAL = 180_000 + 200_000 + 150_000 + 240_000 + 100_000 + 120_000;
const HEARD = 180_000 + 30_000 + 0 + 240_000 + 90_000 + 120_000;
const SKIPPED_TAILS = 170_000 + 150_000 + 10_000;
const FULL_PLAY_BYTES = 180_000 + 240_000 + 120_000;
// Model: confident and right on a, b, c; wrong on d (predicts skip) and e (predicts play).
const P_SKIP = Float64Array.from([0.1, 0.9, 0.8, 0.7, 0.2, 0.4]);

function expectIdentity(t: ReturnType<typeof accountPlan>): void {
  expect(t.playedBytes + t.wastedBytes + t.neverFetchedBytes).toBe(t.totalBytes);
  expect(t.downloadedBytes).toBe(t.playedBytes + t.wastedBytes);
  expect(t.prefetchedBytes + t.streamedBytes).toBe(t.downloadedBytes);
}

describe("accountPlan on hand-made sessions", () => {
  it("cache everything: downloads every byte, wastes every skipped tail, never stalls", () => {
    const t = accountPlan(LISTENS, cacheAllPlan(LISTENS), BITRATE);
    expectIdentity(t);
    expect(t.totalBytes).toBe(TOTAL);
    expect(t.downloadedBytes).toBe(TOTAL);
    expect(t.playedBytes).toBe(HEARD);
    expect(t.wastedBytes).toBe(SKIPPED_TAILS);
    expect(t.neverFetchedBytes).toBe(0);
    expect(t.stalls).toBe(0);
    expect(t.hits).toBe(3);
    expect(t.missedBytes).toBe(0);
  });

  it("cache nothing: streams exactly what is heard, wastes nothing, stalls on every full play", () => {
    const t = accountPlan(LISTENS, cacheNothingPlan(LISTENS), BITRATE);
    expectIdentity(t);
    expect(t.downloadedBytes).toBe(HEARD);
    expect(t.streamedBytes).toBe(HEARD);
    expect(t.wastedBytes).toBe(0);
    expect(t.neverFetchedBytes).toBe(SKIPPED_TAILS);
    expect(t.stalls).toBe(3);
    expect(t.missedBytes).toBe(FULL_PLAY_BYTES);
  });

  it("oracle: zero waste and zero stalls", () => {
    const t = accountPlan(LISTENS, oraclePlan(LISTENS), BITRATE);
    expectIdentity(t);
    expect(t.wastedBytes).toBe(0);
    expect(t.stalls).toBe(0);
    expect(t.hits).toBe(3);
    expect(t.streamedBytes).toBe(30_000 + 90_000);
  });

  it("a model's decisions: waste on the missed skip, a stall on the wrongly skipped full play", () => {
    const skip = thresholdDecisions(P_SKIP, 0.5);
    expect([...skip]).toEqual([0, 1, 1, 1, 0, 0]);
    const t = accountPlan(LISTENS, decisionPlan(LISTENS, skip), BITRATE);
    expectIdentity(t);
    expect(t.wastedBytes).toBe(10_000); // e: prefetched 100 s, heard 90 s
    expect(t.stalls).toBe(1); // d
    expect(t.missedBytes).toBe(240_000);
    expect(t.neverFetchedBytes).toBe(170_000 + 150_000);
  });

  it("partial prefetch: the prefix is wasted on early skips, and a full play predicted SKIP stalls when it runs out", () => {
    const skip = thresholdDecisions(P_SKIP, 0.5);
    const t = accountPlan(LISTENS, partialPlan(LISTENS, skip, 60_000), BITRATE);
    expectIdentity(t);
    // b: prefix 60 s, heard 30 s → 30 s wasted; c: 60 s wasted; d: 60 s prefetched, 180 s streamed; e: 10 s wasted.
    expect(t.wastedBytes).toBe(30_000 + 60_000 + 10_000);
    expect(t.prefetchedBytes).toBe(180_000 + 60_000 + 60_000 + 60_000 + 100_000 + 120_000);
    expect(t.stalls).toBe(1);
    expect(t.missedBytes).toBe(180_000);
    // A prefix longer than the track is capped at its duration.
    const long = accountPlan(LISTENS, partialPlan(LISTENS, [1, 1, 1, 1, 1, 1], 1e9), BITRATE);
    expect(long.wastedBytes).toBe(SKIPPED_TAILS);
  });

  it("scales ms to bytes with the bitrate (160 kbit/s = 20 kB/s)", () => {
    const t = accountPlan(LISTENS, cacheAllPlan(LISTENS), 160);
    expect(t.totalBytes).toBe(TOTAL * 20);
    expect(t.wastedBytes).toBe(SKIPPED_TAILS * 20);
  });

  it("takes a full play as heard to the end and a skip's heard time capped at the duration", () => {
    const odd = [listen("x", 100_000, 40_000, false, 0), listen("y", 100_000, 250_000, true, 1)];
    const t = accountPlan(odd, cacheAllPlan(odd), BITRATE);
    expect(t.playedBytes).toBe(200_000);
    expect(t.wastedBytes).toBe(0);
  });

  it("rejects a plan of the wrong length", () => {
    expect(() => accountPlan(LISTENS, new Float64Array(2), BITRATE)).toThrow(/2 entries for 6 listens/);
  });
});

describe("simulateCache", () => {
  const sim = simulateCache(LISTENS, {
    costModel: HAND_COSTS,
    models: [{ name: "m", pSkip: P_SKIP, threshold: 0.5 }],
    genreRuleSkip: Uint8Array.from([0, 0, 1, 1, 1, 0]),
    partialPrefixMs: 60_000,
  });
  const byKind = (kind: string) => sim.policies.filter((p) => p.kind === kind);

  it("reports every policy with the accounting identity", () => {
    expect(sim.policies.map((p) => p.kind)).toEqual([
      "cache-all",
      "cache-nothing",
      "oracle",
      "genre-rule",
      "model",
      "partial",
    ]);
    for (const p of sim.policies) {
      expect(p.playedBytes + p.wastedBytes + p.neverFetchedBytes).toBe(p.totalBytes);
      expect(p.hits + p.stalls).toBe(p.fullPlays);
    }
  });

  it("computes hit rate, shares, the cost, the net saving over cache-everything and its share", () => {
    // Cost = 10 per wasted MB + 1 per stall. Cache everything wastes 0.33 MB: 3.3; the oracle costs 0.
    const [all] = byKind("cache-all");
    expect(all.wastedShare).toBeCloseTo(SKIPPED_TAILS / TOTAL, 15);
    expect(all.missedShare).toBe(0);
    expect(all.hitRate).toBe(1);
    expect(all.cost).toBeCloseTo(3.3, 12);
    expect([all.saving, all.share, all.wasteAvoidedBytes]).toEqual([0, 0, 0]);
    const [oracle] = byKind("oracle");
    expect(oracle.wastedBytes).toBe(0);
    expect(oracle.stalls).toBe(0);
    expect(oracle.saving).toBeCloseTo(3.3, 12);
    expect(oracle.share).toBeCloseTo(1, 12);
    // Cache nothing: 3 stalls = 3, saving 0.3 (it saves waste, but its stalls eat nearly all of it).
    const [none] = byKind("cache-nothing");
    expect(none.hitRate).toBe(0);
    expect(none.missedShare).toBe(1);
    expect(none.saving).toBeCloseTo(0.3, 12);
    expect(none.share).toBeCloseTo(0.3 / 3.3, 12);
    expect(none.wasteAvoidedBytes).toBe(SKIPPED_TAILS);
    // Model: 10 kB wasted (0.1) + one stall = 1.1 → saving 2.2, two thirds of the oracle's.
    const [model] = byKind("model");
    expect(model.hitRate).toBeCloseTo(2 / 3, 15);
    expect(model.missedShare).toBeCloseTo(240_000 / FULL_PLAY_BYTES, 15);
    expect(model.cost).toBeCloseTo(10 * 0.01 + 1, 12);
    expect(model.saving).toBeCloseTo(2.2, 12);
    expect(model.share).toBeCloseTo(2 / 3, 12);
    expect(model.wasteAvoidedBytes).toBe(SKIPPED_TAILS - 10_000);
    // Genre rule: prefetches a, b, f; b wastes 170 s (1.7); d (full play) stalls (1) → saving 0.6.
    const [genre] = byKind("genre-rule");
    expect(genre.wastedBytes).toBe(170_000);
    expect(genre.stalls).toBe(1);
    expect(genre.saving).toBeCloseTo(0.6, 12);
    // One user: the bootstrap interval collapses onto the estimate.
    expect(model.users).toBe(1);
    expect(model.savingCi.lower).toBeCloseTo(2.2, 12);
    expect(model.savingCi.upper).toBeCloseTo(2.2, 12);
  });

  it("a policy worse than caching everything has a negative saving", () => {
    const wrong = simulateCache(LISTENS, {
      costModel: { wastePerMb: 1, stall: 4, bitrateKbps: BITRATE },
      models: [{ name: "backwards", pSkip: Float64Array.from(P_SKIP, (p) => 1 - p), threshold: 0.5 }],
    });
    const model = wrong.policies.find((p) => p.kind === "model");
    // It skips a and f (two stalls = 8) and prefetches b, c (waste 0.32 MB); cache everything costs 0.33.
    expect(model?.stalls).toBe(2);
    expect(model?.saving).toBeCloseTo(0.33 - (8 + 0.17 + 0.15), 12);
    expect(model?.share).toBeLessThan(0);
  });

  it("prices every listen of a plan so the per-listen costs add up to the policy's cost", () => {
    const plan = partialPlan(LISTENS, thresholdDecisions(P_SKIP, 0.5), 60_000);
    const totals = accountPlan(LISTENS, plan, BITRATE);
    const perListen = planCosts(LISTENS, plan, HAND_COSTS);
    expect(perListen.reduce((a, b) => a + b, 0)).toBeCloseTo(
      costOf(totals.wastedBytes, totals.stalls, HAND_COSTS),
      12,
    );
  });

  it("sweeps thresholds monotonically: waste and downloads never fall, stalls never rise", () => {
    const points = sim.sweep.filter((p) => p.model === "m");
    expect(points).toHaveLength(101);
    expect(points[0].threshold).toBe(0);
    expect(points.at(-1)?.threshold).toBe(1);
    for (let i = 1; i < points.length; i++) {
      expect(points[i].wastedBytes).toBeGreaterThanOrEqual(points[i - 1].wastedBytes);
      expect(points[i].downloadedBytes).toBeGreaterThanOrEqual(points[i - 1].downloadedBytes);
      expect(points[i].stalls).toBeLessThanOrEqual(points[i - 1].stalls);
      expect(points[i].missedBytes).toBeLessThanOrEqual(points[i - 1].missedBytes);
    }
    // Threshold 0 predicts SKIP everywhere: cache nothing. Threshold 1 prefetches everything scored below 1.
    expect(points[0].wastedBytes).toBe(0);
    expect(points[0].stalls).toBe(3);
    expect(points.at(-1)?.wastedBytes).toBe(SKIPPED_TAILS);
    expect(points.at(-1)?.stalls).toBe(0);
  });

  it("never recommends on its own: the hindsight best point is secondary material", () => {
    // Cost = 10 per MB wasted + 1 per stall. Candidate plans by threshold:
    // t ≤ 0.1: nothing → 3 stalls = 3; (0.1, 0.2]: a → 2; (0.2, 0.4]: a, e → 0.1 + 2 = 2.1;
    // (0.4, 0.7]: a, e, f → 0.1 + 1 = 1.1; (0.7, 0.8]: + d → 0.1; (0.8, 0.9]: + c → 1.6; > 0.9: + b → 3.3.
    expect(sim.recommended).toBeUndefined();
    expect(sim.recommendation).toBeUndefined();
    const [hindsight] = sim.bestPerModel;
    expect(hindsight.model).toBe("m");
    expect(hindsight.threshold).toBeCloseTo(0.71, 10);
    expect(hindsight.cost).toBeCloseTo(0.1, 12);
    expect(hindsight.saving).toBeCloseTo(3.2, 12);
  });

  it("reports the policy it is told was chosen beforehand, whatever this period says", () => {
    const told = (recommend: RecommendedPolicy) =>
      simulateCache(LISTENS, {
        costModel: HAND_COSTS,
        models: [{ name: "m", pSkip: P_SKIP, threshold: 0.5 }],
        genreRuleSkip: Uint8Array.from([0, 0, 1, 1, 1, 0]),
        recommend,
      });
    const model = told({ kind: "model", model: "m", threshold: 0.5, reason: "validation" });
    expect(model.recommended?.kind).toBe("model");
    expect(model.recommended?.saving).toBeCloseTo(2.2, 12);
    expect(model.recommendation?.reason).toBe("validation");
    expect(told({ kind: "cache-all", model: null, threshold: null, reason: "" }).recommended?.kind).toBe(
      "cache-all",
    );
    expect(told({ kind: "cache-nothing", model: null, threshold: null, reason: "" }).recommended?.kind).toBe(
      "cache-nothing",
    );
    // The naive model is the genre-rule policy.
    expect(told({ kind: "model", model: "naive", threshold: 0.5, reason: "" }).recommended?.kind).toBe(
      "genre-rule",
    );
    expect(() => told({ kind: "model", model: "other", threshold: 0.3, reason: "" })).toThrow(
      /names model "other"/,
    );
    expect(() => told({ kind: "model", model: "m", threshold: 0.3, reason: "" })).toThrow(
      /serves m at 0.3, but its scores come with threshold 0.5/,
    );
  });

  it("marks the wasted-vs-missed frontier", () => {
    const points: SweepPoint[] = [
      [0, 0, 10],
      [0.2, 1, 5],
      [0.3, 1, 5],
      [0.4, 2, 7],
      [0.5, 3, 0],
    ].map(([threshold, wastedBytes, missedBytes]) => ({
      model: "x",
      threshold,
      wastedBytes,
      missedBytes,
      wastedShare: 0,
      missedShare: 0,
      stalls: 0,
      hitRate: 0,
      downloadedBytes: 0,
      cost: 0,
      saving: 0,
      share: 0,
      onFrontier: false,
    }));
    markFrontier(points);
    expect(points.map((p) => p.onFrontier)).toEqual([true, true, false, false, true]);
    const sweepFrontier = sim.sweep.filter((p) => p.onFrontier);
    expect(sweepFrontier.length).toBeGreaterThan(1);
  });

  it("rejects bad input with the field named", () => {
    expect(() => simulateCache([listen("z", Number.NaN, 0, true, 0)])).toThrow(
      /listen 0 \(track z\): field "durationMs"/,
    );
    expect(() =>
      simulateCache(LISTENS, { models: [{ name: "m", pSkip: new Float64Array(2), threshold: 0.5 }] }),
    ).toThrow(/model "m": 2 scores for 6 listens/);
    expect(() => simulateCache(LISTENS, { costModel: { ...DEFAULT_COST_MODEL, bitrateKbps: 0 } })).toThrow(
      /"bitrateKbps" must be > 0/,
    );
  });
});

describe("sweepModel", () => {
  it("equals accounting each threshold's plan directly, with NaN scores always prefetched", () => {
    let seed = 99;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const listens: CacheListen[] = [];
    const pSkip = new Float64Array(500);
    for (let i = 0; i < 500; i++) {
      const skipped = random() < 0.3;
      const durationMs = 60_000 + Math.floor(random() * 240_000);
      listens.push(
        listen(`t${i}`, durationMs, skipped ? Math.floor(random() * durationMs) : durationMs, skipped, i),
      );
      pSkip[i] = i % 50 === 0 ? Number.NaN : Math.round(random() * 20) / 20; // ties on purpose
    }
    const thresholds = [0.5, 0, 0.05, 0.33, 1, 0.95, 0.5001];
    const sim = simulateCache(listens, {
      models: [{ name: "m", pSkip, threshold: 0.5 }],
      sweepThresholds: thresholds,
    });
    expect(sim.sweep.map((p) => p.threshold)).toEqual(thresholds);
    for (const point of sim.sweep) {
      const direct = accountPlan(
        listens,
        decisionPlan(listens, thresholdDecisions(pSkip, point.threshold)),
        160,
      );
      expect(point.wastedBytes).toBeCloseTo(direct.wastedBytes, 3);
      expect(point.missedBytes).toBeCloseTo(direct.missedBytes, 3);
      expect(point.downloadedBytes).toBeCloseTo(direct.downloadedBytes, 3);
      expect(point.stalls).toBe(direct.stalls);
      expect(point.hitRate).toBeCloseTo(direct.hits / direct.fullPlays, 15);
      expect(point.cost).toBeCloseTo(costOf(direct.wastedBytes, direct.stalls, DEFAULT_COST_MODEL), 6);
    }
    const modelPolicy = sim.policies.find((p) => p.kind === "model");
    const atHalf = sim.sweep[0];
    expect(modelPolicy?.wastedBytes).toBeCloseTo(atHalf.wastedBytes, 3);
    expect(modelPolicy?.stalls).toBe(atHalf.stalls);
  });
});
