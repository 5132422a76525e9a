// Expected values are scipy 1.10.1 (norm.cdf, norm.ppf, chi2.sf), numpy.percentile and Python's math.lgamma,
// written in as literals.
import { describe, expect, it } from "vitest";
import { logGamma, regularizedGammaP, regularizedGammaQ } from "../../src/base/gamma.ts";
import {
  chiSquareSurvival,
  criticalValue,
  normalCdf,
  normalInterval,
  normalQuantile,
  normalSurvival,
  sortedQuantile,
} from "../../src/base/statistics.ts";

function expectRelative(actual: number, expected: number, tolerance = 1e-12): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.max(Math.abs(expected), 1e-300));
}

describe("normalCdf", () => {
  const cases: [number, number][] = [
    [-30, 4.906713927147908e-198],
    [-8, 6.22096057427174e-16],
    [-3, 0.0013498980316300933],
    [-1.96, 0.024997895148220435],
    [-0.5, 0.3085375387259869],
    [0, 0.5],
    [0.3, 0.6179114221889526],
    [5, 0.9999997133484281],
    [-5, 2.866515718791933e-7],
    [1, 0.8413447460685429],
    [1.959963985, 0.9750000000268816],
  ];
  it.each(cases)("Φ(%d) matches scipy", (x, expected) => expectRelative(normalCdf(x), expected));
  it("survival is the mirrored CDF and keeps tail precision", () => {
    expectRelative(normalSurvival(8), 6.22096057427174e-16);
    expect(normalCdf(1) + normalSurvival(1)).toBeCloseTo(1, 15);
  });
  it("returns NaN for NaN", () => expect(normalCdf(Number.NaN)).toBeNaN());
});

describe("normalQuantile", () => {
  const cases: [number, number][] = [
    [1e-300, -37.0470962993612],
    [1e-10, -6.361340902404056],
    [0.001, -3.090232306167813],
    [0.025, -1.9599639845400545],
    [0.3, -0.5244005127080409],
    [0.975, 1.959963984540054],
    [0.999999, 4.753424308817087],
  ];
  it.each(cases)("Φ⁻¹(%d) matches scipy", (p, expected) =>
    expectRelative(normalQuantile(p), expected, 1e-11),
  );
  it("handles the edges", () => {
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY);
    expect(normalQuantile(-0.1)).toBeNaN();
    expect(normalQuantile(1.1)).toBeNaN();
  });
  it("gives the two-sided critical values", () => {
    expectRelative(criticalValue(0.95), 1.959963984540054, 1e-15);
    expectRelative(criticalValue(0.9), 1.6448536269514722, 1e-14);
    expectRelative(criticalValue(0.99), 2.5758293035489004, 1e-14);
    expect(() => criticalValue(1)).toThrow(/confidence/);
  });
  it("inverts the CDF", () => {
    for (const p of [0.0001, 0.01, 0.2, 0.7, 0.9, 0.9999])
      expect(normalCdf(normalQuantile(p))).toBeCloseTo(p, 14);
  });
});

describe("logGamma and the incomplete gamma functions", () => {
  const lgamma: [number, number][] = [
    [0.1, 2.2527126517342055],
    [0.5, 0.5723649429247004],
    [2.5, 0.2846828704729196],
    [10, 12.801827480081467],
    [100, 359.1342053695754],
    [1e5, 1051287.7089736566],
  ];
  it.each(lgamma)("lnΓ(%d) matches math.lgamma", (x, expected) =>
    expectRelative(logGamma(x), expected, 1e-13),
  );
  it("lnΓ(1) = lnΓ(2) = 0 and Γ(n) = (n−1)!", () => {
    expect(Math.abs(logGamma(1))).toBeLessThan(1e-14);
    expect(Math.abs(logGamma(2))).toBeLessThan(1e-14);
    expect(Math.exp(logGamma(6))).toBeCloseTo(120, 10);
  });
  it("P(1, x) = 1 − e^(−x) on both sides of the series / continued-fraction switch", () => {
    for (const x of [0.01, 0.5, 1.9, 2.1, 7, 30]) {
      expect(regularizedGammaP(1, x)).toBeCloseTo(1 - Math.exp(-x), 14);
      expectRelative(regularizedGammaQ(1, x), Math.exp(-x), 1e-12);
    }
  });
  it("rejects invalid arguments with NaN", () => {
    expect(regularizedGammaP(0, 1)).toBeNaN();
    expect(regularizedGammaQ(1, -1)).toBeNaN();
    expect(logGamma(-1)).toBeNaN();
  });
});

describe("chiSquareSurvival", () => {
  const cases: [number, number, number][] = [
    [3.84, 1, 0.05004352124870519],
    [10, 3, 0.01856613546304325],
    [0.5, 2, 0.7788007830714049],
    [100, 50, 3.454931382984871e-5],
    [1000, 900, 0.010994608942135844],
    [2, 0.5, 0.06792113201010888],
    [40, 2, 2.0611536224385566e-9],
  ];
  it.each(cases)("P(χ² ≥ %d; df = %d) matches scipy", (x, df, expected) =>
    expectRelative(chiSquareSurvival(x, df), expected, 1e-11),
  );
  it("is 1 at x ≤ 0 and NaN for a bad df", () => {
    expect(chiSquareSurvival(0, 3)).toBe(1);
    expect(chiSquareSurvival(-1, 3)).toBe(1);
    expect(chiSquareSurvival(1, 0)).toBeNaN();
  });
});

describe("normalInterval", () => {
  it("is estimate ± z·se", () => {
    const i = normalInterval(0.3, 0.01, 0.95);
    expect(i.estimate).toBe(0.3);
    expect(i.lower).toBeCloseTo(0.3 - 0.01959963984540054, 15);
    expect(i.upper).toBeCloseTo(0.3 + 0.01959963984540054, 15);
    expect(() => normalInterval(0, 1, 0)).toThrow(/confidence/);
  });
});

describe("sortedQuantile", () => {
  // numpy.percentile(a, [0, 10, 25, 50, 62.5, 90, 100]) on a = [1, 2, 4, 8, 16].
  const a = Float64Array.from([1, 2, 4, 8, 16]);
  const cases: [number, number][] = [
    [0, 1],
    [0.1, 1.4],
    [0.25, 2],
    [0.5, 4],
    [0.625, 6],
    [0.9, 12.8],
    [1, 16],
  ];
  it.each(cases)("q = %d matches numpy.percentile", (q, expected) =>
    expect(sortedQuantile(a, q)).toBeCloseTo(expected, 13),
  );
  it("is NaN for no data and the value for one", () => {
    expect(sortedQuantile([], 0.5)).toBeNaN();
    expect(sortedQuantile([7], 0.3)).toBe(7);
  });
});
