import { describe, expect, it } from "vitest";
import { type CostModel, DEFAULT_COST_MODEL, listenCosts } from "../../src/listens/cost-model.ts";
import { Rng } from "../../src/models/random.ts";
import {
  choosePolicy,
  crossFittedCosts,
  describeTestOutcome,
  netSaving,
  oracleCosts,
  outcomesOn,
  type ScoredCandidate,
} from "../../src/train/policy-choice.ts";
import { decisionCosts } from "../../src/train/threshold.ts";

// 8000 kbit/s = 1000 bytes per ms: 1 MB per second of audio, so wasted seconds read as MB.
const MB_PER_SECOND: CostModel = { wastePerMb: 1, stall: 4, bitrateKbps: 8000 };

describe("netSaving by hand", () => {
  // a: full play 3 s; b: skip at 1 s of 5 s (4 MB wasted if prefetched); c: skip at 0.5 s of 4 s (3.5 MB);
  // d: full play 2 s. Users: a, b → 1; c, d → 2.
  const y = Uint8Array.from([0, 1, 1, 0]);
  const costs = listenCosts(y, [3000, 5000, 4000, 2000], [3000, 1000, 500, 2000], MB_PER_SECOND);
  const users = [1, 1, 2, 2];
  const all = costs.prefetch;
  const oracle = oracleCosts(y, costs);

  it("prices the listens: cache everything costs the two skipped tails, the oracle nothing", () => {
    expect([...costs.prefetch]).toEqual([0, 4, 3.5, 0]);
    expect([...costs.stream]).toEqual([4, 0, 0, 4]);
    expect([...oracle]).toEqual([0, 0, 0, 0]);
  });

  it("a perfect policy saves everything the oracle saves (share 1)", () => {
    const perfect = decisionCosts([0.1, 0.9, 0.9, 0.1], 0.5, costs);
    const e = netSaving(perfect, all, oracle, users);
    expect(e.cacheAllCost).toBe(7.5);
    expect(e.oracleCost).toBe(0);
    expect(e.cost).toBe(0);
    expect(e.saving).toBe(7.5);
    expect(e.share).toBe(1);
    expect(e.users).toBe(2);
    expect(e.listens).toBe(4);
  });

  it("a policy that trades 4 MB of waste for one stall saves nothing", () => {
    // SKIP a (a stall, 4) and b (saves 4 MB); c is still prefetched (3.5 MB wasted).
    const even = decisionCosts([0.9, 0.9, 0.1, 0.1], 0.5, costs);
    const e = netSaving(even, all, oracle, users);
    expect(e.cost).toBe(7.5);
    expect(e.saving).toBe(0);
    expect(e.share).toBe(0);
  });

  it("a policy that skips the full plays has a negative saving and share", () => {
    const wrong = decisionCosts([0.9, 0.1, 0.1, 0.9], 0.5, costs);
    const e = netSaving(wrong, all, oracle, users);
    expect(e.cost).toBe(4 + 4 + 4 + 3.5);
    expect(e.saving).toBe(-8);
    expect(e.share).toBeCloseTo(-8 / 7.5, 15);
    expect(e.ciUpper).toBeLessThan(0);
    // Cache nothing: 8 of stalls against 7.5 of waste.
    expect(netSaving(costs.stream, all, oracle, users).saving).toBeCloseTo(-0.5, 15);
  });

  it("caching everything saves exactly 0 with a zero-width interval", () => {
    const e = netSaving(all, all, oracle, users);
    expect([e.saving, e.ciLower, e.ciUpper, e.share]).toEqual([0, 0, 0, 0]);
  });
});

/** Per-user clusters of per-listen saving differences with a known expected total. */
function clusteredDiffs(rng: Rng, users: number, perUser: number, mean: number) {
  const diff = new Float64Array(users * perUser);
  const userId = new Int32Array(users * perUser);
  for (let u = 0; u < users; u++) {
    const userMean = mean + 2 * rng.normal(); // users differ: the clusters matter
    for (let k = 0; k < perUser; k++) {
      diff[u * perUser + k] = userMean + 3 * rng.normal();
      userId[u * perUser + k] = 1000 + u;
    }
  }
  return { diff, userId, truth: users * perUser * mean };
}

describe("the user bootstrap", () => {
  it("is reproducible by seed and moves with it", () => {
    const { diff, userId } = clusteredDiffs(new Rng(5), 25, 10, 0.3);
    const zero = new Float64Array(diff.length);
    const policy = Float64Array.from(diff, (d) => -d); // cost(policy) = −diff, cost(all) = 0
    const a = netSaving(policy, zero, zero, userId, { seed: 11, replicates: 500 });
    const b = netSaving(policy, zero, zero, userId, { seed: 11, replicates: 500 });
    const c = netSaving(policy, zero, zero, userId, { seed: 12, replicates: 500 });
    expect([a.ciLower, a.ciUpper]).toEqual([b.ciLower, b.ciUpper]);
    expect([a.ciLower, a.ciUpper]).not.toEqual([c.ciLower, c.ciUpper]);
    expect(a.ciLower).toBeLessThan(a.saving);
    expect(a.ciUpper).toBeGreaterThan(a.saving);
  });

  it("covers the true expected saving about 95 % of the time", () => {
    const rng = new Rng(2024);
    const reps = 300;
    let covered = 0;
    for (let r = 0; r < reps; r++) {
      const { diff, userId, truth } = clusteredDiffs(rng, 40, 8, 0.5);
      const zero = new Float64Array(diff.length);
      const e = netSaving(
        Float64Array.from(diff, (d) => -d),
        zero,
        zero,
        userId,
        { seed: r + 1, replicates: 400 },
      );
      if (e.ciLower <= truth && truth <= e.ciUpper) covered++;
    }
    // Percentile intervals with 40 clusters run slightly narrow; 95 % ± simulation noise.
    expect(covered / reps).toBeGreaterThan(0.88);
    expect(covered / reps).toBeLessThan(0.99);
  });
});

interface World {
  y: Uint8Array;
  userId: Int32Array;
  costs: ReturnType<typeof listenCosts>;
  /** P(skip) with no relation to the outcome, and one that knows it well. */
  noise: Float64Array;
  informative: Float64Array;
}

/** Listens of `users` users: a third skipped, early or late; 3-minute tracks at the default bitrate. */
function world(seed: number, users = 40, perUser = 30): World {
  const rng = new Rng(seed);
  const n = users * perUser;
  const y = new Uint8Array(n);
  const userId = new Int32Array(n);
  const duration = new Float64Array(n).fill(180_000);
  const heard = new Float64Array(n);
  const noise = new Float64Array(n);
  const informative = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    userId[i] = Math.floor(i / perUser);
    y[i] = rng.next() < 0.35 ? 1 : 0;
    heard[i] = y[i] === 1 ? rng.next() * 60_000 : 180_000;
    noise[i] = rng.next();
    const z = (y[i] === 1 ? 1.5 : -1.5) + rng.normal();
    informative[i] = 1 / (1 + Math.exp(-z));
  }
  return { y, userId, costs: listenCosts(y, duration, heard, DEFAULT_COST_MODEL), noise, informative };
}

function candidates(w: World, p: Float64Array): ScoredCandidate[] {
  // The served threshold of a learner: chosen on every validation listen (as trainModels does).
  const served = (scores: Float64Array) => {
    let best = { t: 1.5, cost: Number.POSITIVE_INFINITY };
    for (const t of [...new Set(scores)].sort((a, b) => a - b).concat(1.5)) {
      const cost = decisionCosts(scores, t, w.costs).reduce((a, b) => a + b, 0);
      if (cost < best.cost - 1e-9) best = { t, cost };
    }
    return best.t;
  };
  return [
    { name: "gbdt", role: "model", p, threshold: served(p) },
    { name: "naive", role: "baseline", p: Float64Array.from(p, (v) => (v > 0.6 ? 1 : 0)), threshold: 0.5 },
  ];
}

describe("choosePolicy", () => {
  it("recommends caching everything on pure-noise scores, in 20 of 20 seeds", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const w = world(seed);
      const choice = choosePolicy(
        { ...w, costModel: DEFAULT_COST_MODEL, candidates: candidates(w, w.noise) },
        { replicates: 500 },
      );
      expect(choice.kind, `seed ${seed}`).toBe("cache-all");
      expect(choice.model).toBeNull();
      expect(choice.threshold).toBeNull();
      expect(choice.reason).toMatch(
        /^no model saves more than caching everything on the validation period: prefetch everything/,
      );
    }
  });

  it("recommends the model on strongly informative scores, at its whole-period threshold", () => {
    const w = world(7);
    const cands = candidates(w, w.informative);
    const calls: [number, number][] = [];
    const choice = choosePolicy(
      { ...w, costModel: DEFAULT_COST_MODEL, candidates: cands },
      { onProgress: (d, t) => calls.push([d, t]) },
    );
    // Progress per candidate: the two fixed policies, then each scored candidate, ending at the total.
    expect(calls.map(([d]) => d)).toEqual(Array.from({ length: cands.length + 1 }, (_, k) => k + 2));
    expect(calls.at(-1)).toEqual([cands.length + 2, cands.length + 2]);
    expect(choice.kind).toBe("model");
    expect(choice.model).toBe("gbdt");
    expect(choice.threshold).toBe(cands[0].threshold);
    const row = choice.validation.candidates.find((c) => c.model === "gbdt");
    expect(row?.estimate).toBe("cross-fitted");
    expect(row?.ciLower).toBeGreaterThan(0);
    expect(row?.passes).toBe(true);
    // The cross-fitted saving is out of sample: no better than the in-sample one it is reported beside.
    expect(row?.saving).toBeLessThanOrEqual((row?.inSampleSaving ?? 0) + 1e-9);
    expect(choice.reason).toMatch(/^prefetch when gbdt predicts P\(skip\) < /);
    expect(choice.reason).toContain("bootstrap over users");
    expect(choice.validation.candidates.map((c) => c.name)).toEqual([
      "cache everything",
      "cache nothing",
      `gbdt @ ${Number(cands[0].threshold.toFixed(3))}`,
      "naive @ 0.5",
    ]);
    expect(choice.costModel).toEqual(DEFAULT_COST_MODEL);
  });

  it("recommends caching nothing when waste is priced far above stalls", () => {
    const w = world(3);
    const pricey: CostModel = { wastePerMb: 100, stall: 1, bitrateKbps: 160 };
    const costs = listenCosts(
      w.y,
      new Float64Array(w.y.length).fill(180_000),
      Float64Array.from(w.y, (s) => (s === 1 ? 10_000 : 180_000)),
      pricey,
    );
    const choice = choosePolicy({ ...w, costs, costModel: pricey, candidates: [] });
    expect(choice.kind).toBe("cache-nothing");
    expect(choice.reason).toMatch(/stream every track/);
  });

  it("cross-fits: every listen is decided by a threshold chosen without its user", () => {
    const w = world(9, 10, 20);
    const crossed = crossFittedCosts(w.y, w.informative, w.costs, w.userId, { folds: 5, seed: 1 });
    expect(crossed?.thresholds).toHaveLength(5);
    expect(crossed?.costs).toHaveLength(w.y.length);
    // Each listen's cost is one of its two decision costs.
    crossed?.costs.forEach((c, i) => {
      expect([w.costs.prefetch[i], w.costs.stream[i]]).toContain(c);
    });
    expect(crossFittedCosts(w.y, w.informative, w.costs, new Int32Array(w.y.length), {})).toBeNull();
  });
});

describe("outcomesOn (the test period only reports)", () => {
  it("applies every candidate unchanged, lists the recommended one first and says when it lost", () => {
    const validation = world(7);
    const choice = choosePolicy({
      ...validation,
      costModel: DEFAULT_COST_MODEL,
      candidates: candidates(validation, validation.informative),
    });
    expect(choice.kind).toBe("model");
    // A test period where the model's scores carry nothing: the validation choice turns out worse.
    const test = world(8);
    const outcomes = outcomesOn(choice, {
      ...test,
      scores: new Map([
        ["gbdt", Float64Array.from(test.noise, (v) => 1 - v)],
        ["naive", test.noise],
      ]),
    });
    expect(outcomes[0].recommended).toBe(true);
    expect(outcomes[0].model).toBe("gbdt");
    expect(outcomes[0].threshold).toBe(choice.threshold);
    expect(outcomes.map((o) => o.kind).sort()).toEqual(["cache-all", "cache-nothing", "model", "rule"]);
    expect(outcomes[0].saving).toBeLessThan(0);
    expect(describeTestOutcome(choice, outcomes)).toMatch(
      /^the validation choice \(gbdt @ [\d.]+\) cost [\d,.]+ more than caching everything on the test period/,
    );
  });
});
