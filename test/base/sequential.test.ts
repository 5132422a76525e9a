// The always-valid confidence sequence and the sample-size calculators of src/base/statistics.ts, checked
// by simulation with the generator's seeded xoshiro128** streams (tests may import from src/synth).
//
// Monte-Carlo margins: a share p estimated from S independent streams has standard error sqrt(p(1−p)/S).
// With S = 2,000 and p = α = 0.05 that is 0.0049; a rate is accepted up to α + 2.58 SE = 0.0626 (a
// one-sided 99.5 % bound), so a correct CS fails this test with probability < 0.5 %, while a CS whose
// true false-alarm rate were 0.075 would pass it with probability < 0.5 %.
import { describe, expect, it } from "vitest";
import {
  ConfidenceSequence,
  confidenceSequenceRadius,
  fixedHorizonListens,
  minimumDetectableEffect,
  mixtureConstant,
  mixturePrecision,
  normalQuantile,
  sequentialListens,
} from "../../src/base/statistics.ts";
import { Random } from "../../src/synth/random.ts";

const ALPHA = 0.05;
const STREAMS = 2_000;
const LOOKS = 10_000;
const MARGIN = 2.58 * Math.sqrt((ALPHA * (1 - ALPHA)) / STREAMS);

type Draw = (r: Random) => number;

/** A per-listen cost difference (variant − cache-everything): mostly 0, +stall, or −waste of a skip. */
const costDifference: Draw = (r) => {
  const u = r.next();
  if (u < 0.04) return 4; // SKIP decision, played out: a stall
  if (u < 0.12) return -6 * r.next(); // SKIP decision, skipped: up to 6 MB of waste avoided
  return 0; // PLAY decision: the same cost as cache-everything
};
const COST_MEAN = 0.04 * 4 - 0.08 * 3;

/** Heavier tail: rare stalls, waste log-normal capped at 12 MB (a long track skipped at once). */
const heavyTail: Draw = (r) => {
  const u = r.next();
  if (u < 0.01) return 4;
  if (u < 0.06) return -Math.min(12, r.logNormal(0, 1));
  return 0;
};
// E[min(12, LogNormal(0, 1))] by numeric integration of the capped log-normal, done once below.
function cappedLogNormalMean(cap: number): number {
  let sum = 0;
  const steps = 200_000;
  const lo = -8;
  const hi = 8;
  const h = (hi - lo) / steps;
  for (let i = 0; i < steps; i++) {
    const z = lo + (i + 0.5) * h;
    sum += Math.min(cap, Math.exp(z)) * Math.exp((-z * z) / 2);
  }
  return (sum * h) / Math.sqrt(2 * Math.PI);
}
const HEAVY_MEAN = 0.01 * 4 - 0.05 * cappedLogNormalMean(12);

/** Share of streams whose CS ever misses `mean`, and of streams whose peeked z-interval ever does. */
function falseAlarms(draw: Draw, mean: number, seed: number): { cs: number; peekedZ: number } {
  const z = normalQuantile(1 - ALPHA / 2);
  let csMisses = 0;
  let zMisses = 0;
  for (let s = 0; s < STREAMS; s++) {
    const r = new Random(seed, `stream ${s}`);
    const cs = new ConfidenceSequence({ alpha: ALPHA, plannedN: LOOKS });
    let csMissed = false;
    let zMissed = false;
    for (let t = 0; t < LOOKS; t++) {
      cs.add(draw(r));
      const error = Math.abs(cs.mean - mean);
      if (!csMissed && error > cs.radius()) csMissed = true;
      if (!zMissed && cs.n >= 2 && error > z * Math.sqrt(cs.variance / cs.n)) zMissed = true;
      if (csMissed && zMissed) break;
    }
    if (csMissed) csMisses++;
    if (zMissed) zMisses++;
  }
  return { cs: csMisses / STREAMS, peekedZ: zMisses / STREAMS };
}

describe("ConfidenceSequence under the null: 2,000 streams × 10,000 looks", () => {
  const cases: [string, Draw, number][] = [
    ["standard normal", (r) => r.normal(), 0],
    ["cost difference (0 / +4 stall / −U(0, 6) waste)", costDifference, COST_MEAN],
    ["heavy-tailed cost difference (capped log-normal waste)", heavyTail, HEAVY_MEAN],
  ];
  it.each(cases)(
    "%s: the mean leaves the interval in ≤ α of streams; a peeked z-interval does not hold",
    (_, draw, mean) => {
      const rates = falseAlarms(draw, mean, 14);
      console.log(`false alarms over ${LOOKS} looks: CS ${rates.cs}, peeked z ${rates.peekedZ}`);
      expect(rates.cs).toBeLessThanOrEqual(ALPHA + MARGIN);
      // Peeking at the fixed-horizon interval after every listen inflates its 5 % to most streams.
      expect(rates.peekedZ).toBeGreaterThan(0.3);
    },
  );
});

describe("ConfidenceSequence under an alternative", () => {
  it("excludes 0 eventually when the variant saves (mean −0.08 per listen) and says so with sign −1", () => {
    let concluded = 0;
    const firsts: number[] = [];
    for (let s = 0; s < 200; s++) {
      const r = new Random(3, `alt ${s}`);
      const cs = new ConfidenceSequence({ alpha: ALPHA, plannedN: LOOKS });
      for (let t = 0; t < 50_000; t++) {
        cs.add(costDifference(r));
        if (cs.sign() !== 0) break;
      }
      expect(COST_MEAN).toBeLessThan(0);
      if (cs.sign() === -1) {
        concluded++;
        firsts.push(cs.n);
      }
    }
    expect(concluded).toBe(200);
    firsts.sort((a, b) => a - b);
    expect(firsts[100]).toBeLessThan(10_000);
  });
});

describe("ConfidenceSequence mechanics", () => {
  it("is (−∞, ∞) before two observations and rejects non-finite input", () => {
    const cs = new ConfidenceSequence();
    expect(cs.interval()).toEqual({
      estimate: Number.NaN,
      lower: Number.NEGATIVE_INFINITY,
      upper: Number.POSITIVE_INFINITY,
    });
    cs.add(5);
    expect(cs.interval().lower).toBe(Number.NEGATIVE_INFINITY);
    expect(cs.sign()).toBe(0);
    expect(() => cs.add(Number.NaN)).toThrow(/finite/);
    expect(() => cs.add(Number.POSITIVE_INFINITY)).toThrow(/finite/);
    expect(cs.n).toBe(1);
    expect(() => new ConfidenceSequence({ alpha: 1 })).toThrow(/alpha/);
    expect(() => new ConfidenceSequence({ plannedN: 0 })).toThrow(/plannedN/);
  });

  it("keeps Welford's mean and variance and the paper's radius", () => {
    const xs = [1, 4, -2, 0, 0, 3.5, 7];
    const cs = new ConfidenceSequence({ alpha: 0.1, plannedN: 500 });
    for (const x of xs) cs.add(x);
    const mean = xs.reduce((a, b) => a + b) / xs.length;
    const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length;
    expect(cs.mean).toBeCloseTo(mean, 14);
    expect(cs.variance).toBeCloseTo(variance, 13);
    const rho2 = (-2 * Math.log(0.1) + Math.log(-2 * Math.log(0.1) + 1)) / 500;
    expect(cs.rho2).toBeCloseTo(rho2, 15);
    const t = xs.length;
    const a = t * variance * rho2 + 1;
    const radius = Math.sqrt(((2 * a) / (t * t * rho2)) * Math.log(Math.sqrt(a) / 0.1));
    const i = cs.interval();
    expect(i.upper - i.estimate).toBeCloseTo(radius, 10);
    expect(i.estimate - i.lower).toBeCloseTo(radius, 10);
  });

  it("ρ from the plan makes the radius (of unit-variance data) tightest, relative to 1/√n, at plannedN", () => {
    const rho2 = mixturePrecision(ALPHA, 10_000);
    expect(rho2).toBeCloseTo(mixtureConstant(ALPHA) / 10_000, 15);
    // Minimise √n · radius_n over n: the paper's closed form for ρ comes from approximating the optimum
    // (log(x) ≈ … in the first-order condition), so the minimiser lands within a few % of the planned n.
    let best = 0;
    let bestValue = Number.POSITIVE_INFINITY;
    for (let n = 1000; n <= 100_000; n += 100) {
      const v = Math.sqrt(n) * confidenceSequenceRadius(n, 1, ALPHA, rho2);
      if (v < bestValue) {
        bestValue = v;
        best = n;
      }
    }
    expect(Math.abs(best - 10_000)).toBeLessThanOrEqual(500);
  });

  it("round-trips its state through JSON and carries on identically", () => {
    const a = new ConfidenceSequence({ alpha: 0.01, plannedN: 2000, plannedSd: 2 });
    const b = new ConfidenceSequence({ alpha: 0.01, plannedN: 2000, plannedSd: 2 });
    const r = new Random(1, "json");
    for (let i = 0; i < 300; i++) a.add(costDifference(r));
    const resumed = ConfidenceSequence.fromJSON(JSON.parse(JSON.stringify(a)));
    expect(resumed.toJSON()).toEqual(a.toJSON());
    const r2 = new Random(1, "json");
    for (let i = 0; i < 300; i++) b.add(costDifference(r2));
    for (let i = 0; i < 100; i++) {
      const x = costDifference(r);
      resumed.add(x);
      b.add(x);
    }
    expect(resumed.interval()).toEqual(b.interval());
    expect(() => ConfidenceSequence.fromJSON({ ...a.toJSON(), m2: -1 })).toThrow(/m2/);
    expect(() => ConfidenceSequence.fromJSON({ ...a.toJSON(), n: 1.5 })).toThrow(/"n"/);
  });
});

describe("sample sizes and minimum detectable effects", () => {
  it("the fixed-horizon z-test matches n = ((z_{1−α/2} + z_power) σ / δ)²", () => {
    // z_{0.975} = 1.959963984540054, z_{0.8} = 0.8416212335729143 (scipy.stats.norm.ppf).
    const n = ((1.959963984540054 + 0.8416212335729143) * 2) / 0.1;
    expect(fixedHorizonListens({ effect: 0.1, sd: 2 })).toBe(Math.ceil(n * n));
    expect(fixedHorizonListens({ effect: -0.1, sd: 2 })).toBe(Math.ceil(n * n));
    expect(fixedHorizonListens({ effect: 0, sd: 2 })).toBe(Number.POSITIVE_INFINITY);
    const mde = minimumDetectableEffect({ n: Math.ceil(n * n), sd: 2 });
    expect(mde.fixedHorizon).toBeLessThanOrEqual(0.1);
    expect(mde.fixedHorizon).toBeGreaterThan(0.0999);
    expect(() => fixedHorizonListens({ effect: 0.1, sd: 0 })).toThrow(/sd/);
  });

  it("the sequential n is the inverse of its MDE and costs more listens than one fixed look", () => {
    const n = sequentialListens({ effect: 0.1, sd: 1, plannedN: 2000 });
    expect(minimumDetectableEffect({ n, sd: 1, plannedN: 2000 }).sequential).toBeLessThanOrEqual(0.1);
    expect(minimumDetectableEffect({ n: n - 1, sd: 1, plannedN: 2000 }).sequential).toBeGreaterThan(0.1);
    const fixed = fixedHorizonListens({ effect: 0.1, sd: 1 });
    expect(n).toBeGreaterThan(fixed);
    expect(n).toBeLessThan(4 * fixed);
  });

  it("the sequential n detects the effect with the stated power in simulation", () => {
    // 1,000 streams: the share has SE sqrt(0.8·0.2/1000) = 0.0126; ±0.04 is more than 3 SE. The share
    // excluding 0 AT n should be ≈ power (σ̂ ≈ σ there); the share that ever did by n is at least that.
    const effect = -0.1;
    const n = sequentialListens({ effect, sd: 1, power: 0.8, plannedN: 2000 });
    let atN = 0;
    let byN = 0;
    for (let s = 0; s < 1000; s++) {
      const r = new Random(5, `power ${s}`);
      const cs = new ConfidenceSequence({ plannedN: 2000 });
      let ever = false;
      for (let t = 0; t < n; t++) {
        cs.add(effect + r.normal());
        if (cs.sign() === -1) ever = true;
      }
      if (cs.sign() === -1) atN++;
      if (ever) byN++;
    }
    console.log(`sequential n = ${n}: excluded 0 at n in ${atN / 1000}, by n in ${byN / 1000}`);
    expect(Math.abs(atN / 1000 - 0.8)).toBeLessThanOrEqual(0.04);
    expect(byN / 1000).toBeGreaterThanOrEqual(0.8 - 0.04);
  });
});
