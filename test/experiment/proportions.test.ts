// Expected values: statsmodels 0.13.5 (proportion_confint method="wilson", confint_proportions_2indep
// method="newcomb"/"wald", proportions_ztest), scipy 1.10.1 (chisquare), and Newcombe (1998) Table II.
import { describe, expect, it } from "vitest";
import { wilsonInterval } from "../../src/base/statistics.ts";
import { cupedAdjust, cupedTheta, summarise } from "../../src/experiment/cuped.ts";
import { proportionDifference, twoProportionZTest } from "../../src/experiment/proportions.ts";
import { sampleRatioMismatch } from "../../src/experiment/srm.ts";

describe("wilsonInterval", () => {
  const cases: [number, number, number, number, number][] = [
    [81, 263, 0.95, 0.2552885198782742, 0.36620957698280004],
    [0, 10, 0.95, 0, 0.27753279986288926],
    [10, 10, 0.95, 0.7224672001371106, 1],
    [5, 20, 0.9, 0.1273771685203577, 0.4322017501601246],
    [1, 3, 0.99, 0.04042662929608465, 0.855783984952333],
  ];
  it.each(cases)("%d / %d at %d matches statsmodels", (x, n, confidence, lower, upper) => {
    const w = wilsonInterval(x, n, confidence);
    expect(w.estimate).toBeCloseTo(x / n, 15);
    expect(w.lower).toBeCloseTo(lower, 12);
    expect(w.upper).toBeCloseTo(upper, 12);
  });
  it("is NaN for n = 0 and rejects impossible counts", () => {
    expect(wilsonInterval(0, 0).estimate).toBeNaN();
    expect(() => wilsonInterval(5, 3)).toThrow(/successes/);
    expect(() => wilsonInterval(1, 3, 1.5)).toThrow(/confidence/);
  });
});

describe("proportionDifference", () => {
  it("reproduces Newcombe (1998) Table II, method 10, examples (a) and (b)", () => {
    const a = proportionDifference(56, 70, 48, 80);
    expect(a.newcombe.lower).toBeCloseTo(0.0524, 4);
    expect(a.newcombe.upper).toBeCloseTo(0.3339, 4);
    const b = proportionDifference(9, 10, 3, 10);
    expect(b.newcombe.lower).toBeCloseTo(0.1705, 4);
    expect(b.newcombe.upper).toBeCloseTo(0.809, 4);
  });
  const cases: [number, number, number, number, number[], number[], number, number][] = [
    [
      56,
      70,
      48,
      80,
      [0.05243147240236498, 0.33387265403690614],
      [0.057504899149037114, 0.342495100850963],
      2.6501719512585336,
      0.00804508136819656,
    ],
    [
      9,
      10,
      3,
      10,
      [0.1705227239345029, 0.809017973535488],
      [0.26052427977714854, 0.9394757202228516],
      2.738612787525831,
      0.006169899320544151,
    ],
    [
      6,
      7,
      2,
      7,
      [0.05822792748231209, 0.8062496375242278],
      [0.14811614026643027, 0.9947410025907125],
      2.160246899469287,
      0.030753561259274524,
    ],
    [
      5,
      56,
      0,
      29,
      [-0.038137147903536936, 0.19256001385511165],
      [0.014600240442591991, 0.1639711881288366],
      1.6586488692392285,
      0.09718656817057973,
    ],
  ];
  it.each(cases)("%d/%d − %d/%d matches statsmodels", (x1, n1, x2, n2, newcombe, wald, z, p) => {
    const d = proportionDifference(x1, n1, x2, n2);
    expect(d.difference).toBeCloseTo(x1 / n1 - x2 / n2, 15);
    expect(d.newcombe.lower).toBeCloseTo(newcombe[0], 12);
    expect(d.newcombe.upper).toBeCloseTo(newcombe[1], 12);
    expect(d.wald.lower).toBeCloseTo(wald[0], 12);
    expect(d.wald.upper).toBeCloseTo(wald[1], 12);
    expect(d.z).toBeCloseTo(z, 12);
    expect(d.pValue).toBeCloseTo(p, 12);
  });
  it("gives NaN z when both samples are all failures (statsmodels: nan) but still a Newcombe interval", () => {
    const d = proportionDifference(0, 10, 0, 20);
    expect(d.z).toBeNaN();
    expect(d.pValue).toBeNaN();
    expect(d.newcombe.lower).toBeCloseTo(-0.1611251580528194, 12);
    expect(d.newcombe.upper).toBeCloseTo(0.27753279986288926, 12);
    expect(twoProportionZTest(0, 0, 1, 5).z).toBeNaN();
    expect(() => twoProportionZTest(3, 0, 1, 5)).toThrow(/first sample/);
  });
});

describe("sampleRatioMismatch", () => {
  it("matches scipy.stats.chisquare for two equal-weight variants", () => {
    const r = sampleRatioMismatch([5050, 4950], [1, 1]);
    expect(r.chiSquare).toBeCloseTo(1, 12);
    expect(r.df).toBe(1);
    expect(r.pValue).toBeCloseTo(0.31731050786291115, 12);
    expect(r.alarm).toBe(false);
  });
  it("matches scipy for three variants and for unequal weights", () => {
    const three = sampleRatioMismatch([3300, 3400, 3450], [1, 1, 1]);
    expect(three.chiSquare).toBeCloseTo(3.4482758620689657, 12);
    expect(three.pValue).toBeCloseTo(0.1783267154561531, 12);
    const skewed = sampleRatioMismatch([820, 160], [0.8, 0.2]);
    expect(skewed.chiSquare).toBeCloseTo(8.26530612244898, 12);
    expect(skewed.pValue).toBeCloseTo(0.0040409846839855835, 12);
    expect(skewed.alarm).toBe(false);
  });
  it("raises the alarm below p = 0.001", () => {
    const r = sampleRatioMismatch([10210, 4700, 5090], [0.5, 0.25, 0.25]);
    expect(r.chiSquare).toBeCloseTo(24.03, 10);
    expect(r.pValue).toBeCloseTo(6.0527369487202536e-6, 15);
    expect(r.alarm).toBe(true);
    expect(r.expected).toEqual([10000, 5000, 5000]);
  });
  it("rejects mismatched or invalid inputs", () => {
    expect(() => sampleRatioMismatch([1, 2], [1])).toThrow(/weights/);
    expect(() => sampleRatioMismatch([1, 2], [1, 0])).toThrow(/weight 1/);
    expect(() => sampleRatioMismatch([5], [1])).toThrow(/two variants/);
  });
});

describe("CUPED", () => {
  it("θ = cov/var and the adjustment match numpy on a small sample", () => {
    const y = [0.75, 0.5, 1 / 3, 0.6, 1];
    const x = [0.1, 0.5, 0.3, 0.8, 0.2];
    const fit = cupedTheta(y, x);
    // numpy: np.cov(y, x)[0, 1] / np.var(x, ddof=1)
    const meanX = 0.38;
    const cov = y.reduce((s, v, i) => s + (v - y.reduce((a, b) => a + b) / 5) * (x[i] - meanX), 0) / 4;
    const varX = x.reduce((s, v) => s + (v - meanX) ** 2, 0) / 4;
    expect(fit.theta).toBeCloseTo(cov / varX, 14);
    expect(fit.covariateMean).toBeCloseTo(meanX, 15);
    const adjusted = cupedAdjust(y, x, fit);
    expect(summarise(adjusted).mean).toBeCloseTo(summarise(y).mean, 14);
    expect(summarise(adjusted).variance).toBeLessThan(summarise(y).variance);
  });
  it("removes all variance when Y is linear in X, and leaves Y alone when X is constant", () => {
    const x = [0.1, 0.4, 0.2, 0.9];
    const y = x.map((v) => 0.9 - 0.5 * v);
    const fit = cupedTheta(y, x);
    expect(fit.theta).toBeCloseTo(-0.5, 14);
    expect(summarise(cupedAdjust(y, x, fit)).variance).toBeLessThan(1e-28);
    expect(cupedTheta(y, [0.3, 0.3, 0.3, 0.3]).theta).toBe(0);
  });
  it("summarise uses the n − 1 variance", () => {
    const s = summarise([1, 2, 3, 4]);
    expect(s.mean).toBe(2.5);
    expect(s.variance).toBeCloseTo(5 / 3, 15);
    expect(s.standardError).toBeCloseTo(Math.sqrt(5 / 12), 15);
  });
});
