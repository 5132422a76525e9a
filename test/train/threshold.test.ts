import { describe, expect, it } from "vitest";
import { chooseThreshold, operatingPoint } from "../../src/train/threshold.ts";

const u8 = (a: number[]) => Uint8Array.from(a);
const f64 = (a: number[]) => Float64Array.from(a);

// Five listens, sorted by score: 0.1 skip, 0.3 play, 0.6 skip, 0.7 play, 0.9 skip.
const Y = u8([1, 0, 1, 0, 1]);
const P = f64([0.9, 0.7, 0.6, 0.3, 0.1]);

describe("operatingPoint", () => {
  it("counts waste (prefetched, skipped) and stalls (not prefetched, played) for p < t", () => {
    // t = 0.5 prefetches 0.1 (skip -> waste) and 0.3 (play); 0.7 is a play not prefetched -> stall.
    const point = operatingPoint(Y, P, 0.5, { costWaste: 1, costStall: 3 });
    expect(point).toMatchObject({ threshold: 0.5, waste: 1, stalls: 1, prefetched: 2 });
    expect(point.cost).toBeCloseTo((1 * 1 + 3 * 1) / 5, 15);
    expect(point.wasteRate).toBeCloseTo(0.2, 15);
    expect(point.stallRate).toBeCloseTo(0.2, 15);
  });

  it("prefetches strictly below the threshold", () => {
    expect(operatingPoint(Y, P, 0.6, { costWaste: 1, costStall: 1 }).prefetched).toBe(2);
    expect(operatingPoint(Y, P, 0.6000001, { costWaste: 1, costStall: 1 }).prefetched).toBe(3);
  });
});

describe("chooseThreshold", () => {
  it("finds the hand-computed optimum with asymmetric costs", () => {
    // costWaste 1, costStall 3. Expected cost per listen when prefetching the k lowest scores:
    // none 6/5, {0.1} 7/5, {..0.3} 4/5, {..0.6} 5/5, {..0.7} 2/5, all 3/5 -> prefetch p <= 0.7,
    // any t in (0.7, 0.9], midpoint 0.8.
    const choice = chooseThreshold(Y, P, { costWaste: 1, costStall: 3 });
    expect(choice.chosen.threshold).toBeCloseTo(0.8, 15);
    expect(choice.chosen.cost).toBeCloseTo(0.4, 15);
    expect(choice.chosen).toMatchObject({ waste: 2, stalls: 0, prefetched: 4 });
    expect(choice.atHalf.cost).toBeCloseTo(0.8, 15);
    expect(choice.prefetchAll).toMatchObject({ waste: 3, stalls: 0, prefetched: 5 });
    expect(choice.prefetchAll.cost).toBeCloseTo(0.6, 15);
    expect(choice.prefetchNone).toMatchObject({ waste: 0, stalls: 2, prefetched: 0 });
    expect(choice.prefetchNone.cost).toBeCloseTo(1.2, 15);
    expect(choice.rows).toBe(5);
    expect(choice.costStall).toBe(3);
  });

  it("caches nothing when waste is expensive and stalls are free", () => {
    const choice = chooseThreshold(Y, P, { costWaste: 1, costStall: 0 });
    expect(choice.chosen.prefetched).toBe(0);
    expect(choice.chosen.cost).toBe(0);
    expect(choice.chosen.threshold).toBeLessThanOrEqual(0.1);
  });

  it("leaves no stall when stalls are expensive and waste is free", () => {
    // Prefetching p <= 0.7 (t = 0.8) and everything (t = 0.95) both cost 0; the tie goes to 0.8.
    const choice = chooseThreshold(Y, P, { costWaste: 0, costStall: 1 });
    expect(choice.chosen).toMatchObject({ stalls: 0, cost: 0, prefetched: 4 });
    expect(choice.chosen.threshold).toBeCloseTo(0.8, 15);
  });

  it("separates perfectly ranked scores at the midpoint and resolves equal costs toward 0.5", () => {
    const choice = chooseThreshold(u8([1, 0, 1, 0]), f64([0.9, 0.2, 0.6, 0.4]), {
      costWaste: 1,
      costStall: 1,
    });
    expect(choice.chosen.threshold).toBeCloseTo(0.5, 15);
    expect(choice.chosen.cost).toBe(0);
    // Prefetching nothing (t = 0.25, one stall) and everything (t = 0.8, one waste) both cost 1/2;
    // prefetching only 0.5 costs 1. The tie goes to the threshold nearer 0.5, i.e. 0.25.
    const tie = chooseThreshold(u8([1, 0]), f64([0.5, 0.6]), { costWaste: 1, costStall: 1 });
    expect(tie.chosen.cost).toBeCloseTo(0.5, 15);
    expect(tie.chosen.threshold).toBeCloseTo(0.25, 15);
    expect(tie.chosen.prefetched).toBe(0);
  });

  it("samples the cost curve on a grid that agrees with operatingPoint", () => {
    const choice = chooseThreshold(Y, P, { costWaste: 1, costStall: 3, gridSize: 11 });
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

  it("never does worse than either fixed policy on random data", () => {
    let s = 17;
    const rand = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    const n = 500;
    const y = new Uint8Array(n);
    const p = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      p[i] = rand();
      y[i] = rand() < p[i] ? 1 : 0;
    }
    for (const costs of [
      { costWaste: 1, costStall: 1 },
      { costWaste: 1, costStall: 4 },
      { costWaste: 5, costStall: 1 },
    ]) {
      const choice = chooseThreshold(y, p, costs);
      expect(choice.chosen.cost).toBeLessThanOrEqual(choice.atHalf.cost);
      expect(choice.chosen.cost).toBeLessThanOrEqual(choice.prefetchAll.cost);
      expect(choice.chosen.cost).toBeLessThanOrEqual(choice.prefetchNone.cost);
      // Calibrated scores: the Bayes rule prefetches when p * costWaste < (1 - p) * costStall.
      const bayes = costs.costStall / (costs.costWaste + costs.costStall);
      expect(Math.abs(choice.chosen.threshold - bayes)).toBeLessThan(0.12);
    }
  });

  it("rejects bad inputs with clear messages", () => {
    expect(() => chooseThreshold(u8([1]), f64([0.1, 0.2]), { costWaste: 1, costStall: 1 })).toThrow(
      /1 rows but p/,
    );
    expect(() => chooseThreshold(u8([]), f64([]), { costWaste: 1, costStall: 1 })).toThrow(/no rows/);
    expect(() => chooseThreshold(Y, P, { costWaste: -1, costStall: 1 })).toThrow(/costWaste/);
    expect(() => chooseThreshold(Y, P, { costWaste: 0, costStall: 0 })).toThrow(/both costs/);
    expect(() => chooseThreshold(u8([1]), f64([Number.NaN]), { costWaste: 1, costStall: 1 })).toThrow(/NaN/);
  });
});
