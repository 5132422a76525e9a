// The CUPED and comparison figures were computed independently with numpy/scipy/statsmodels from the same
// hand-made table of users (see USERS) and are written in as literals.
import { describe, expect, it } from "vitest";
import { analyzeExperiment } from "../../src/experiment/analyze.ts";
import type { DecisionRecord } from "../../src/experiment/types.ts";

type Pair = "PP" | "PS" | "SS" | "SP"; // decision, outcome
const USERS: [string, number, number, string][] = [
  ["control", 1, 0.1, "PP PP PS PP"],
  ["control", 2, 0.5, "SS PS SP PP"],
  ["control", 3, 0.3, "PP SS PS"],
  ["control", 4, 0.8, "SS SS SP SS PS"],
  ["control", 5, 0.2, "PP PP"],
  ["treatment", 6, 0.15, "PP PP PP PS"],
  ["treatment", 7, 0.6, "SS SS PS"],
  ["treatment", 8, 0.4, "PP SP SS SS"],
  ["treatment", 9, 0.9, "SS SS SS PS"],
  ["treatment", 10, 0.05, "PP PP PP"],
];

function recordsFrom(users: typeof USERS): DecisionRecord[] {
  const out: DecisionRecord[] = [];
  let ts = 1_700_000_000_000;
  for (const [variant, userId, preSkipRate, pairs] of users) {
    for (const pair of pairs.split(" ") as Pair[]) {
      const decision = pair[0] === "P" ? "PLAY" : "SKIP";
      const outcome = pair[1] === "P" ? "PLAY" : "SKIP";
      out.push({
        decisionId: `d${out.length}`,
        ts: ts++,
        experiment: "exp1",
        variant,
        model: variant === "control" ? "naive" : "gbdt",
        userId,
        trackId: `t${out.length % 7}`,
        probSkip: decision === "SKIP" ? 0.8 : 0.2,
        decision,
        outcome,
        durationMs: 200_000,
        heardMs: outcome === "SKIP" ? 50_000 : 200_000,
        preSkipRate,
      });
    }
  }
  return out;
}

describe("analyzeExperiment", () => {
  const records = recordsFrom(USERS);
  const analysis = analyzeExperiment(records, { weights: { control: 1, treatment: 1 } });
  const [control, treatment] = analysis.variants;

  it("counts users, decisions and the confusion matrix per variant", () => {
    expect(analysis.control).toBe("control");
    expect(control.variant).toBe("control");
    expect(control.users).toBe(5);
    expect(control.decisions).toBe(18);
    expect(control.decisionsWithOutcome).toBe(18);
    expect(control.confusion).toEqual({ tp: 5, fp: 2, tn: 7, fn: 4 });
    expect(treatment.confusion).toEqual({ tp: 7, fp: 1, tn: 7, fn: 3 });
    expect(control.models).toEqual(["naive"]);
    expect(control.skipDecisions).toBe(7);
  });

  it("gives Wilson intervals on accuracy, precision and recall (statsmodels)", () => {
    expect(control.accuracy.estimate).toBeCloseTo(12 / 18, 15);
    expect(control.accuracy.lower).toBeCloseTo(0.4374946729594511, 12);
    expect(control.accuracy.upper).toBeCloseTo(0.8372122524916632, 12);
    expect(control.precision.lower).toBeCloseTo(0.3589344518326191, 12);
    expect(control.precision.upper).toBeCloseTo(0.9177810759959432, 12);
    expect(control.recall.lower).toBeCloseTo(0.26665129349549305, 12);
    expect(control.recall.upper).toBeCloseTo(0.8112214789023355, 12);
    expect(control.f1).toBeCloseTo(10 / 16, 15);
  });

  it("compares treatment with control (statsmodels Newcombe, Wald, proportions_ztest)", () => {
    expect(analysis.comparisons).toHaveLength(1);
    const c = analysis.comparisons[0];
    expect(c.variant).toBe("treatment");
    expect(c.accuracy.difference).toBeCloseTo(2 / 18, 15);
    expect(c.accuracy.newcombe.lower).toBeCloseTo(-0.17515916032919732, 12);
    expect(c.accuracy.newcombe.upper).toBeCloseTo(0.37568636411793677, 12);
    expect(c.accuracy.wald.lower).toBeCloseTo(-0.17925392363556364, 12);
    expect(c.accuracy.wald.upper).toBeCloseTo(0.40147614585778596, 12);
    expect(c.accuracy.z).toBeCloseTo(0.7442084075352511, 12);
    expect(c.accuracy.pValue).toBeCloseTo(0.4567504024231691, 12);
  });

  it("gives the user-clustered accuracy interval (statsmodels OLS, cluster-robust by user, no small-sample correction)", () => {
    const c = analysis.comparisons[0].accuracyClustered;
    expect(c.difference).toBeCloseTo(0.11111111111111094, 14);
    expect(c.lower).toBeCloseTo(-0.031014589864845205, 12);
    expect(c.upper).toBeCloseTo(0.25323681208706705, 12);
    expect(c.pValue).toBeCloseTo(0.12545785464424347, 12);
  });

  it("applies CUPED with θ pooled over all users (numpy)", () => {
    expect(analysis.cupedTheta).toBeCloseTo(-0.2940552016985137, 13);
    expect(control.cuped.raw.mean).toBeCloseTo(0.7033333333333334, 14);
    expect(control.cuped.raw.variance).toBeCloseTo(0.03588888888888889, 14);
    expect(control.cuped.adjusted.mean).toBeCloseTo(0.697452229299363, 13);
    expect(control.cuped.adjusted.variance).toBeCloseTo(0.023237335524091587, 13);
    expect(control.cuped.varianceReduction).toBeCloseTo(0.3525200627962096, 12);
    expect(treatment.cuped.adjusted.mean).toBeCloseTo(0.7892144373673036, 13);
    expect(treatment.cuped.varianceReduction).toBeCloseTo(0.3493923027126954, 12);
    const c = analysis.comparisons[0].cupedAccuracy;
    expect(c.difference).toBeCloseTo(0.09176220806794055, 13);
    expect(c.lower).toBeCloseTo(-0.06897631615106711, 12);
    expect(c.upper).toBeCloseTo(0.25250073228694825, 12);
    expect(c.pValue).toBeCloseTo(0.2631820379711609, 12);
    // CUPED narrows the interval compared with raw per-user accuracy.
    const raw = analysis.comparisons[0].userAccuracy;
    expect(c.upper - c.lower).toBeLessThan(raw.upper - raw.lower);
  });

  it("imputes a missing covariate with the mean, so that user is not adjusted", () => {
    const partial = records.map((r) => (r.userId === 5 ? { ...r, preSkipRate: undefined } : r));
    const a = analyzeExperiment(partial);
    expect(a.variants[0].cuped.usersWithoutCovariate).toBe(1);
    expect(Number.isFinite(a.cupedTheta)).toBe(true);
    const none = analyzeExperiment(records.map((r) => ({ ...r, preSkipRate: undefined })));
    expect(none.cupedTheta).toBe(0);
    expect(none.variants[0].cuped.adjusted.mean).toBeCloseTo(none.variants[0].cuped.raw.mean, 15);
    expect(none.warnings.join(" ")).toMatch(/pre-experiment/);
  });

  it("accounts wasted and missed audio per variant", () => {
    // control: PLAY→SKIP = fn = 4 tracks, each 150 s of unplayed tail; SKIP→PLAY = fp = 2 full plays of 200 s.
    expect(control.cache.records).toBe(18);
    expect(control.cache.totalMs).toBe(18 * 200_000);
    expect(control.cache.wastedMs).toBe(4 * 150_000);
    expect(control.cache.missedMs).toBe(2 * 200_000);
    expect(control.cache.cacheAllWastedMs).toBe(9 * 150_000);
    expect(control.cache.wastedShare).toBeCloseTo((4 * 150_000) / (18 * 200_000), 15);
    expect(control.cache.missedShare).toBeCloseTo(2 / 9, 15);
    expect(control.cache.wasteAvoidedShare).toBeCloseTo(5 / 9, 15);
  });

  it("builds a cumulative accuracy series ending at the overall accuracy", () => {
    const series = analysis.timeline.filter((p) => p.variant === "control");
    expect(series.at(-1)?.decisions).toBe(18);
    expect(series.at(-1)?.accuracy).toBeCloseTo(12 / 18, 15);
    for (let i = 1; i < series.length; i++) {
      expect(series[i].ts).toBeGreaterThan(series[i - 1].ts);
      expect(series[i].decisions).toBeGreaterThan(series[i - 1].decisions);
    }
    const few = analyzeExperiment(records, { timelinePoints: 3 }).timeline.filter(
      (p) => p.variant === "treatment",
    );
    expect(few.map((p) => p.decisions)).toEqual([6, 12, 18]);
  });

  it("checks the sample ratio on users against the weights", () => {
    expect(analysis.srm.observed).toEqual([5, 5]);
    expect(analysis.srm.pValue).toBe(1);
    // scipy.stats.chisquare([5, 5], [8, 2]): 5.625, p = 0.017706065807366642
    const skewed = analyzeExperiment(records, { weights: { control: 0.8, treatment: 0.2 } });
    expect(skewed.srm.chiSquare).toBeCloseTo(5.625, 12);
    expect(skewed.srm.pValue).toBeCloseTo(0.017706065807366642, 12);
    expect(skewed.srm.alarm).toBe(false);
    const alarmed = analyzeExperiment(records, { weights: { control: 0.8, treatment: 0.2 }, srmAlpha: 0.05 });
    expect(alarmed.srm.alarm).toBe(true);
    expect(alarmed.warnings.join(" ")).toMatch(/sample-ratio mismatch/);
  });

  it("ignores decisions without feedback in the metrics but counts them as decisions", () => {
    const extra: DecisionRecord = { ...records[0], decisionId: "x", outcome: undefined, heardMs: undefined };
    const a = analyzeExperiment([...records, extra]);
    expect(a.variants[0].decisions).toBe(19);
    expect(a.variants[0].decisionsWithOutcome).toBe(18);
    expect(a.variants[0].cache.records).toBe(18);
  });

  it("warns when a user appears in two variants", () => {
    const moved = [...records, { ...records[0], decisionId: "y", variant: "treatment" }];
    expect(analyzeExperiment(moved).warnings.join(" ")).toMatch(/more than one variant/);
  });

  it("honours the control option and selects one experiment", () => {
    const flipped = analyzeExperiment(records, { control: "treatment" });
    expect(flipped.comparisons[0].variant).toBe("control");
    expect(flipped.comparisons[0].accuracy.difference).toBeCloseTo(-2 / 18, 15);
    const mixed = [...records, { ...records[0], decisionId: "z", experiment: "exp2" }];
    expect(() => analyzeExperiment(mixed)).toThrow(/2 experiments/);
    expect(analyzeExperiment(mixed, { experiment: "exp2" }).records).toBe(1);
    expect(() => analyzeExperiment(records, { control: "nope" })).toThrow(/"nope" not found/);
  });

  it("rejects a malformed record naming the record and the field", () => {
    const bad = [...records];
    bad[3] = { ...bad[3], decision: "MAYBE" as "PLAY" };
    expect(() => analyzeExperiment(bad)).toThrow(/record 3 \(decision d3\): field "decision"/);
    bad[3] = { ...records[3], heardMs: -5 };
    expect(() => analyzeExperiment(bad)).toThrow(/field "heardMs"/);
  });

  it("prices each variant against cache-everything with the one cost model, per listen", () => {
    // durationMs 200 s, heard 50 s at 160 kbit/s: a skipped prefetch wastes 150,000 ms × 20 B/ms = 3 MB.
    // Per listen, variant − cache-everything: SS −3 (waste avoided), SP +4 (a stall), PP and PS 0.
    // control: 5 SS, 2 SP of 18 → (−15 + 8) / 18; treatment: 7 SS, 1 SP → (−21 + 4) / 18.
    const byVariant = new Map(analysis.costTests.map((t) => [t.variant, t]));
    const control = byVariant.get("control");
    const treatment = byVariant.get("treatment");
    expect(analysis.costModel).toEqual({ wastePerMb: 1, stall: 4, bitrateKbps: 160 });
    expect(control?.listens).toBe(18);
    expect(control?.difference.mean).toBeCloseTo(-7 / 18, 14);
    expect(treatment?.difference.mean).toBeCloseTo(-17 / 18, 14);
    expect(control?.cacheAllCost).toBeCloseTo((9 * 3) / 18, 14);
    expect(treatment?.cacheAllCost).toBeCloseTo((10 * 3) / 18, 14);
    expect(control?.variantCost).toBeCloseTo((9 * 3 - 7) / 18, 14);
    // Sample sd of five −3, two +4, eleven 0, and the fixed-horizon interval mean ± z·sd/√n.
    const m = -7 / 18;
    const sd = Math.sqrt((5 * (-3 - m) ** 2 + 2 * (4 - m) ** 2 + 11 * m * m) / 17);
    expect(control?.difference.sd).toBeCloseTo(sd, 13);
    expect(control?.fixedHorizon.upper).toBeCloseTo(m + (1.959963984540054 * sd) / Math.sqrt(18), 12);
    // The always-valid interval is wider than the one-look interval; 18 listens conclude nothing.
    expect(control?.sequential.lower).toBeLessThan(control?.fixedHorizon.lower ?? 0);
    expect(control?.sequential.upper).toBeGreaterThan(control?.fixedHorizon.upper ?? 0);
    expect(control?.sequential.alpha).toBe(0.05);
    expect(control?.conclusion).toBe("not yet");
    const series = analysis.costTimeline.filter((p) => p.variant === "control");
    expect(series.at(-1)?.listens).toBe(18);
    expect(series.at(-1)?.upper).toBeCloseTo(control?.sequential.upper ?? 0, 14);
    // A dearer stall changes the price through the cost model, not another formula.
    const dear = analyzeExperiment(records, { costModel: { wastePerMb: 1, stall: 8, bitrateKbps: 160 } });
    expect(dear.costTests[0].difference.mean).toBeCloseTo((-15 + 16) / 18, 14);
  });

  it("concludes 'saves' or 'costs more' once the always-valid interval leaves 0, and sizes the test", () => {
    const pattern = (pairs: string, variant: string, n: number): DecisionRecord[] =>
      Array.from({ length: n }, (_, i) => {
        const pair = pairs.split(" ")[i % 10];
        const outcome = pair[1] === "P" ? "PLAY" : "SKIP";
        return {
          decisionId: `${variant}${i}`,
          ts: i,
          experiment: "e",
          variant,
          model: "m",
          userId: i % 300,
          trackId: "t",
          probSkip: 0.5,
          decision: pair[0] === "P" ? "PLAY" : "SKIP",
          outcome,
          durationMs: 200_000,
          heardMs: outcome === "SKIP" ? 50_000 : 200_000,
        } as DecisionRecord;
      });
    const rows = [
      ...pattern("SS PP PS SS PP SP SS PP PP PP", "good", 3000), // mean (−9 + 4) / 10 = −0.5
      ...pattern("SS SP PP SP PP SP PS PP PP PP", "bad", 3000), // mean (−3 + 12) / 10 = +0.9
      ...pattern("SS SP PP PP PP PP PP PP PP PP", "even", 500), // mean (−3 + 4) / 10 = +0.1: too close to 0 for 500 listens
    ];
    const a = analyzeExperiment(rows, { control: "even" });
    const t = new Map(a.costTests.map((x) => [x.variant, x]));
    expect(t.get("good")?.conclusion).toBe("saves");
    expect(t.get("good")?.sequential.upper).toBeLessThan(0);
    expect(t.get("bad")?.conclusion).toBe("costs more");
    expect(t.get("bad")?.sequential.lower).toBeGreaterThan(0);
    const even = t.get("even");
    expect(even?.conclusion).toBe("not yet");
    // Listens to detect a saving of 10 % of cache-everything's cost at the observed sd: one skip in 10
    // listens wastes 3 MB under cache-everything, 0.3 per listen, so the saving is 0.03 per listen.
    const d = even?.detection;
    const z = 1.959963984540054 + 0.8416212335729143;
    expect(even?.cacheAllCost).toBeCloseTo(0.3, 14);
    expect(d?.effect).toBeCloseTo(0.03, 14);
    expect(d?.fixedHorizonListens).toBe(Math.ceil(((z * (even?.difference.sd ?? 0)) / 0.03) ** 2));
    expect(d?.sequentialListens).toBeGreaterThan(d?.fixedHorizonListens ?? Number.POSITIVE_INFINITY);
    expect(d?.detectableShareNow.sequential).toBeGreaterThan(d?.detectableShareNow.fixedHorizon ?? 1);
  });
});
