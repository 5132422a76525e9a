import { describe, expect, it } from "vitest";
import type { ListenCosts } from "../../src/listens/cost-model.ts";
import { chooseThreshold, decisionCosts, operatingPoint } from "../../src/train/threshold.ts";

const u8 = (a: number[]) => Uint8Array.from(a);
const f64 = (a: number[]) => Float64Array.from(a);

/** The same cost for every listen: `waste` per prefetched skip, `stall` per streamed full play. */
function uniform(y: Uint8Array, waste: number, stall: number): ListenCosts {
  return {
    prefetch: Float64Array.from(y, (s) => (s === 1 ? waste : 0)),
    stream: Float64Array.from(y, (s) => (s === 1 ? 0 : stall)),
  };
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

// Five listens, sorted by score: 0.1 skip, 0.3 play, 0.6 skip, 0.7 play, 0.9 skip.
const Y = u8([1, 0, 1, 0, 1]);
const P = f64([0.9, 0.7, 0.6, 0.3, 0.1]);

describe("operatingPoint", () => {
  it("counts waste (prefetched, skipped) and stalls (not prefetched, played) for p < t", () => {
    // t = 0.5 prefetches 0.1 (skip -> waste) and 0.3 (play); 0.7 is a play not prefetched -> stall.
    const point = operatingPoint(Y, P, 0.5, uniform(Y, 1, 3));
    expect(point).toMatchObject({ threshold: 0.5, waste: 1, stalls: 1, prefetched: 2, totalCost: 4 });
    expect(point.cost).toBeCloseTo(4 / 5, 15);
    expect(point.wasteRate).toBeCloseTo(0.2, 15);
    expect(point.stallRate).toBeCloseTo(0.2, 15);
  });

  it("prefetches strictly below the threshold", () => {
    expect(operatingPoint(Y, P, 0.6, uniform(Y, 1, 1)).prefetched).toBe(2);
    expect(operatingPoint(Y, P, 0.6000001, uniform(Y, 1, 1)).prefetched).toBe(3);
  });

  it("weights each listen by its own cost", () => {
    // The skip at 0.1 wastes 5 MB-cost, the one at 0.6 only 0.5: prefetching p < 0.65 costs 5.5 + stall of 0.7.
    const costs: ListenCosts = { prefetch: f64([2, 0, 0.5, 0, 5]), stream: f64([0, 4, 0, 4, 0]) };
    const point = operatingPoint(Y, P, 0.65, costs);
    expect(point.totalCost).toBeCloseTo(5 + 0.5 + 4, 15);
    expect(point).toMatchObject({ waste: 2, stalls: 1, prefetched: 3 });
  });
});

describe("chooseThreshold", () => {
  it("finds the hand-computed optimum with asymmetric uniform costs", () => {
    // waste 1, stall 3. Total cost when prefetching the k lowest scores:
    // none 6, {0.1} 7, {..0.3} 4, {..0.6} 5, {..0.7} 2, all 3 -> prefetch p <= 0.7, t in (0.7, 0.9], midpoint 0.8.
    const choice = chooseThreshold(Y, P, uniform(Y, 1, 3));
    expect(choice.chosen.threshold).toBeCloseTo(0.8, 15);
    expect(choice.chosen.totalCost).toBeCloseTo(2, 15);
    expect(choice.chosen.cost).toBeCloseTo(0.4, 15);
    expect(choice.chosen).toMatchObject({ waste: 2, stalls: 0, prefetched: 4 });
    expect(choice.atHalf.totalCost).toBeCloseTo(4, 15);
    expect(choice.prefetchAll).toMatchObject({ waste: 3, stalls: 0, prefetched: 5, totalCost: 3 });
    expect(choice.prefetchNone).toMatchObject({ waste: 0, stalls: 2, prefetched: 0, totalCost: 6 });
    expect(choice.rows).toBe(5);
  });

  it("follows per-listen costs: a late skip is cheap to prefetch, an early one is not", () => {
    // Same ranking, but the skip at 0.6 was heard almost to the end (0.1 wasted) and the one at 0.9 early (5).
    // Prefetch p < 0.8 costs 2 (skip 0.1) + 0.1 = 2.1; everything 7.1; the best is to stop before 0.9.
    const late: ListenCosts = { prefetch: f64([5, 0, 0.1, 0, 2]), stream: f64([0, 3, 0, 3, 0]) };
    const choice = chooseThreshold(Y, P, late);
    expect(choice.chosen.threshold).toBeCloseTo(0.8, 15);
    expect(choice.chosen.totalCost).toBeCloseTo(2.1, 12);
    // The skip at 0.6 skipped early instead (5 wasted): prefetching p < 0.45 (0.1 + 3 for the stall at 0.7) wins.
    const early: ListenCosts = { prefetch: f64([0.2, 0, 5, 0, 0.1]), stream: f64([0, 3, 0, 3, 0]) };
    const moved = chooseThreshold(Y, P, early);
    expect(moved.chosen.threshold).toBeCloseTo(0.45, 15);
    expect(moved.chosen.totalCost).toBeCloseTo(3.1, 12);
  });

  it("caches nothing when waste is expensive and stalls are free", () => {
    const choice = chooseThreshold(Y, P, uniform(Y, 1, 0));
    expect(choice.chosen.prefetched).toBe(0);
    expect(choice.chosen.cost).toBe(0);
    expect(choice.chosen.threshold).toBeLessThanOrEqual(0.1);
  });

  it("resolves equal costs toward prefetching more", () => {
    // Stalls expensive, waste free: prefetching p <= 0.7 (t = 0.8) and everything (t = 0.95) both cost 0.
    const free = chooseThreshold(Y, P, uniform(Y, 0, 1));
    expect(free.chosen).toMatchObject({ stalls: 0, cost: 0, prefetched: 5 });
    expect(free.chosen.threshold).toBeCloseTo(0.95, 15);
    // Prefetching nothing (one stall) and everything (one waste) both cost 1; prefetching only 0.5 costs 2.
    const tie = chooseThreshold(u8([1, 0]), f64([0.5, 0.6]), uniform(u8([1, 0]), 1, 1));
    expect(tie.chosen.totalCost).toBeCloseTo(1, 15);
    expect(tie.chosen.prefetched).toBe(2);
    expect(tie.chosen.threshold).toBeCloseTo(0.8, 15);
  });

  it("separates perfectly ranked scores at the midpoint", () => {
    const y = u8([1, 0, 1, 0]);
    const choice = chooseThreshold(y, f64([0.9, 0.2, 0.6, 0.4]), uniform(y, 1, 1));
    expect(choice.chosen.threshold).toBeCloseTo(0.5, 15);
    expect(choice.chosen.cost).toBe(0);
  });

  it("equals a brute-force search over every threshold, with ties and per-listen costs", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rand = lcg(seed);
      const n = 5 + Math.floor(rand() * 80);
      const y = new Uint8Array(n);
      const p = new Float64Array(n);
      const costs: ListenCosts = { prefetch: new Float64Array(n), stream: new Float64Array(n) };
      for (let i = 0; i < n; i++) {
        p[i] = Math.round(rand() * 15) / 15; // ties on purpose
        y[i] = rand() < 0.2 + 0.6 * p[i] ? 1 : 0;
        costs.prefetch[i] = y[i] === 1 ? rand() * 5 : 0;
        costs.stream[i] = y[i] === 1 ? 0 : 4;
      }
      // Brute force: every rule "prefetch p < t" for t at each score and above the largest.
      const candidates = [...new Set(p), Math.max(...p) + 1];
      let bestCost = Number.POSITIVE_INFINITY;
      for (const t of candidates) {
        let total = 0;
        for (let i = 0; i < n; i++) total += p[i] < t ? costs.prefetch[i] : costs.stream[i];
        bestCost = Math.min(bestCost, total);
      }
      const choice = chooseThreshold(y, p, costs);
      expect(choice.chosen.totalCost).toBeCloseTo(bestCost, 9);
      // The served rule (SKIP when p >= t) at the chosen threshold costs exactly that.
      const served = decisionCosts(p, choice.chosen.threshold, costs).reduce((a, b) => a + b, 0);
      expect(served).toBeCloseTo(bestCost, 9);
      expect(choice.chosen.totalCost).toBeLessThanOrEqual(choice.prefetchAll.totalCost + 1e-9);
      expect(choice.chosen.totalCost).toBeLessThanOrEqual(choice.prefetchNone.totalCost + 1e-9);
    }
  });

  it("samples the cost curve on a grid that agrees with operatingPoint", () => {
    const choice = chooseThreshold(Y, P, uniform(Y, 1, 3), { gridSize: 11 });
    expect(choice.curve.threshold.length).toBe(11);
    expect(choice.curve.threshold[5]).toBeCloseTo(0.5, 15);
    expect(choice.curve.cost[5]).toBeCloseTo(0.8, 15);
    expect(choice.curve.cost[0]).toBeCloseTo(1.2, 15); // t = 0 prefetches nothing
    expect(choice.curve.cost[10]).toBeCloseTo(0.6, 15); // t = 1 prefetches everything
    expect(choice.curve.wasteRate[8]).toBeCloseTo(2 / 5, 15);
    expect(choice.curve.stallRate[8]).toBe(0);
    for (let g = 0; g < 11; g++)
      expect(choice.curve.cost[g]).toBeGreaterThanOrEqual(choice.chosen.cost - 1e-15);
  });

  it("lands near the Bayes threshold on calibrated scores", () => {
    const rand = lcg(17);
    const n = 2000;
    const y = new Uint8Array(n);
    const p = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      p[i] = rand();
      y[i] = rand() < p[i] ? 1 : 0;
    }
    for (const [waste, stall] of [
      [1, 1],
      [1, 4],
      [5, 1],
    ]) {
      // Prefetch when p × waste < (1 − p) × stall.
      const bayes = stall / (waste + stall);
      const choice = chooseThreshold(y, p, uniform(y, waste, stall));
      expect(Math.abs(choice.chosen.threshold - bayes)).toBeLessThan(0.1);
    }
  });

  it("rejects bad inputs with clear messages", () => {
    const ok = uniform(Y, 1, 1);
    expect(() => chooseThreshold(u8([1]), f64([0.1, 0.2]), uniform(u8([1]), 1, 1))).toThrow(/1 rows but p/);
    expect(() => chooseThreshold(u8([]), f64([]), uniform(u8([]), 1, 1))).toThrow(/no rows/);
    expect(() => chooseThreshold(Y, P, { ...ok, prefetch: f64([1, 0, -1, 0, 1]) })).toThrow(
      /prefetch cost \[2\] must be a finite number >= 0/,
    );
    expect(() => chooseThreshold(Y, P, { ...ok, stream: f64([0]) })).toThrow(/5 rows but 1 stream costs/);
    expect(() => chooseThreshold(u8([1]), f64([Number.NaN]), uniform(u8([1]), 1, 1))).toThrow(/NaN/);
  });
});
