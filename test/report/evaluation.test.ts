import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_COST_MODEL, listenCosts } from "../../src/listens/cost-model.ts";
import {
  buildEvaluationReport,
  computeVerdict,
  type EvaluatedModel,
  modelMetrics,
  type PolicyReport,
  writeEvaluationReport,
} from "../../src/report/evaluation.ts";
import { accuracy, correlationMatrix, rocAuc } from "../../src/train/metrics.ts";
import { choosePolicy, describeTestOutcome, outcomesOn } from "../../src/train/policy-choice.ts";
import { chooseThreshold } from "../../src/train/threshold.ts";
import { checkBalancedTags, externalReferences } from "./svg-helpers.ts";

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Labels drawn from the scores themselves: a calibrated model with strong signal. */
function strong(n: number, seed = 1) {
  const rand = lcg(seed);
  const y = new Uint8Array(n);
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    p[i] = rand();
    y[i] = rand() < p[i] ? 1 : 0;
  }
  return { y, p };
}

/** Scores independent of the labels: a coin flip. */
function coinFlip(n: number, seed = 2) {
  const rand = lcg(seed);
  const y = new Uint8Array(n);
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rand() < 0.4 ? 1 : 0;
    p[i] = 0.3 + 0.2 * rand();
  }
  return { y, p };
}

function constant(y: Uint8Array, value: number): Float64Array {
  return new Float64Array(y.length).fill(value);
}

describe("computeVerdict", () => {
  it("finds usable signal in a strong, calibrated model", () => {
    const { y, p } = strong(3000);
    const v = computeVerdict([
      { name: "gbdt", y, p },
      { name: "majority", role: "majority", y, p: constant(y, 0.4) },
    ]);
    expect(v.usableSignal).toBe(true);
    expect(v.bestModel).toBe("gbdt");
    expect(v.checks).toEqual({ ciExcludesHalf: true, aucLiftLargeEnough: true, beatsMajority: true });
    expect(v.rocAuc).toBeCloseTo(rocAuc(y, p), 12);
    expect(v.ciLower).toBeGreaterThan(0.5);
    expect(v.headline).toMatch(
      /^Usable signal: gbdt beats the majority baseline, ROC AUC 0\.\d{3} \(95 % CI/,
    );
    expect(v.majorityAccuracy).toBeCloseTo(accuracy(y, constant(y, 0.4)), 12);
  });

  it("says 'no usable signal' for a coin flip, because the CI includes 0.5", () => {
    const { y, p } = coinFlip(3000);
    const v = computeVerdict([{ name: "gbdt", y, p }]);
    expect(v.usableSignal).toBe(false);
    expect(v.checks.ciExcludesHalf).toBe(false);
    expect(v.ciLower).toBeLessThan(0.5);
    expect(v.ciUpper).toBeGreaterThan(0.5);
    expect(v.headline).toMatch(/^No usable signal: the 95 % CI of the best ROC AUC includes 0\.5/);
    // Without a majority entry the baseline is the test set's own majority class.
    let skipped = 0;
    for (const label of y) skipped += label;
    expect(v.majorityAccuracy).toBeCloseTo(Math.max(skipped, y.length - skipped) / y.length, 12);
  });

  it("says 'no usable signal' when the AUC is significant but negligibly above 0.5", () => {
    const n = 120_000;
    const rand = lcg(9);
    const y = new Uint8Array(n);
    const p = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      p[i] = rand();
      y[i] = rand() < 0.47 + 0.06 * p[i] ? 1 : 0;
    }
    const v = computeVerdict([{ name: "weak", y, p }]);
    expect(v.checks.ciExcludesHalf).toBe(true);
    expect(v.rocAuc - 0.5).toBeLessThan(0.02);
    expect(v.usableSignal).toBe(false);
    expect(v.headline).toMatch(/^No usable signal: the ROC AUC is negligibly above 0\.5/);
  });

  it("says 'no usable signal' when a well-ranking model still loses to the majority class", () => {
    // 10 % skips; scores rank well but all sit above 0.5, so every row is predicted "skip".
    const n = 3000;
    const rand = lcg(4);
    const y = new Uint8Array(n);
    const p = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = rand() < 0.1 ? 1 : 0;
      p[i] = 0.6 + 0.2 * rand() + 0.2 * y[i];
    }
    const v = computeVerdict([{ name: "uncalibrated", y, p }]);
    expect(v.checks.ciExcludesHalf).toBe(true);
    expect(v.checks.aucLiftLargeEnough).toBe(true);
    expect(v.checks.beatsMajority).toBe(false);
    expect(v.accuracyGain).toBeLessThan(-0.5);
    expect(v.headline).toMatch(/No usable signal: the gain over the majority baseline is negligible/);
    // The same scores at a sensible threshold do beat the majority class...
    expect(computeVerdict([{ name: "tuned", y, p, thresholds: [0.85] }]).usableSignal).toBe(true);
    // ...but when 0.5 is listed too, the verdict reads accuracy at 0.5.
    const both = computeVerdict([{ name: "both", y, p, thresholds: [0.85, 0.5] }]);
    expect(both.accuracy).toBeCloseTo(accuracy(y, p, 0.5), 12);
    expect(both.usableSignal).toBe(false);
  });

  it("picks the best learner by ROC AUC, ignoring baselines when learners exist", () => {
    const s = strong(2000, 5);
    const c = coinFlip(2000, 6);
    const models: EvaluatedModel[] = [
      { name: "coin", y: s.y, p: c.p },
      { name: "good", y: s.y, p: s.p },
      {
        name: "oracle-ish baseline",
        role: "baseline",
        y: s.y,
        p: Float64Array.from(s.y, (v) => 0.1 + 0.8 * v),
      },
    ];
    expect(computeVerdict(models).bestModel).toBe("good");
    expect(computeVerdict([models[2]]).bestModel).toBe("oracle-ish baseline");
  });

  it("handles a test set with one class", () => {
    const y = new Uint8Array(10);
    const v = computeVerdict([{ name: "m", y, p: constant(y, 0.2) }]);
    expect(v.usableSignal).toBe(false);
    expect(v.bestModel).toBeNull();
    expect(v.headline).toMatch(/No usable signal/);
  });
});

/** A validation-chosen policy on `n` listens of 20 users, scored by `p`, and its outcomes on the same rows. */
function policyReport(y: Uint8Array, p: Float64Array): PolicyReport {
  const n = y.length;
  const userId = Int32Array.from({ length: n }, (_, i) => i % 20);
  const costs = listenCosts(
    y,
    new Float64Array(n).fill(180_000),
    Float64Array.from(y, (s) => (s === 1 ? 20_000 : 180_000)),
    DEFAULT_COST_MODEL,
  );
  const threshold = chooseThreshold(y, p, costs).chosen.threshold;
  const choice = choosePolicy(
    {
      y,
      userId,
      costs,
      costModel: DEFAULT_COST_MODEL,
      candidates: [{ name: "gbdt", role: "model", p, threshold }],
    },
    { replicates: 300 },
  );
  const test = outcomesOn(choice, { y, userId, costs, scores: new Map([["gbdt", p]]) }, { replicates: 300 });
  return { choice, test, testSummary: describeTestOutcome(choice, test) };
}

describe("computeVerdict with a policy (the one selection rule)", () => {
  it("says no usable signal when the policy is cache everything, whatever the test AUC", () => {
    const { y, p } = strong(3000);
    // A policy chosen on scores unrelated to the outcome: caching everything.
    const noise = Float64Array.from(p, (_, i) => ((i * 7919) % 1000) / 1000);
    const report = policyReport(y, noise);
    expect(report.choice.kind).toBe("cache-all");
    const v = computeVerdict([{ name: "gbdt", y, p }], {}, report);
    expect(v.usableSignal).toBe(false);
    expect(v.recommended).toBe("cache everything");
    expect(v.headline).toMatch(
      /^No usable signal: no model saves more than caching everything on the validation period: prefetch everything/,
    );
    // The AUC checks remain, as information.
    expect(v.checks.ciExcludesHalf).toBe(true);
    expect(v.details.some((d) => d.startsWith("Informational (gbdt)"))).toBe(true);
  });

  it("says usable signal and names the policy when a model was recommended", () => {
    const { y, p } = strong(3000);
    const report = policyReport(y, p);
    expect(report.choice.kind).toBe("model");
    const v = computeVerdict([{ name: "gbdt", y, p }], { model: "gbdt" }, report);
    expect(v.usableSignal).toBe(true);
    expect(v.bestModel).toBe("gbdt");
    expect(v.headline).toMatch(
      /^Usable signal: the recommended policy, chosen on the validation period, is gbdt @ /,
    );
    expect(v.headline).toContain("On the test period gbdt @");
  });

  it("renders the policy section and writes the policy into metrics.json", async () => {
    const { y, p } = strong(2000, 5);
    const report = await buildEvaluationReport({
      dataset: { delivery: "synthetic", protocol: "time split", rowCounts: { test: 2000 } },
      models: [{ name: "gbdt", y, p }],
      policy: policyReport(y, p),
    });
    expect(report.html).toContain('<section id="policy">');
    expect(report.html).toContain("bootstrap over users");
    const json = JSON.parse(report.metricsJson);
    expect(json.policy.kind).toBe("model");
    expect(json.policy.validation.candidates.map((c: { name: string }) => c.name)[0]).toBe(
      "cache everything",
    );
    expect(json.policy.test[0].recommended).toBe(true);
  });
});

describe("modelMetrics", () => {
  it("computes the side-by-side figures at every requested threshold", () => {
    const { y, p } = strong(1000, 7);
    const m = modelMetrics({ name: "gbdt", y, p, thresholds: [0.5, 0.3] });
    expect(m.atThresholds.map((t) => t.threshold)).toEqual([0.5, 0.3]);
    expect(m.atThresholds[1].accuracy).toBeCloseTo(accuracy(y, p, 0.3), 12);
    const c = m.atThresholds[0].confusion;
    expect(c.tn + c.fp + c.fn + c.tp).toBe(1000);
    expect(m.rocAucCi.lower).toBeLessThan(m.rocAuc);
    expect(m.rows).toBe(1000);
    expect(() => modelMetrics({ name: "bad", y, p: new Float64Array(3) })).toThrow(
      /"bad": y has 1000 rows but p has 3/,
    );
  });
});

describe("buildEvaluationReport", () => {
  const names = ["genre_match", "session_prev_skipped", "user_skip_rate"];
  function input(signal: "strong" | "coin") {
    const { y, p } = signal === "strong" ? strong(2000, 11) : coinFlip(2000, 12);
    const rand = lcg(13);
    const X = { rows: 500, cols: 3, data: Float32Array.from({ length: 1500 }, () => rand()) };
    return {
      dataset: {
        delivery: "2023L-v2",
        protocol: "time split: last 20 % of listens = test",
        rowCounts: { train: 8000, validation: 1000, test: 2000 },
        timeRanges: { test: { from: "2023-05-01T00:00:00Z", to: "2023-06-01T00:00:00Z" } },
        notes: ["rates from the past only"],
      },
      models: [
        {
          name: "gbdt",
          y,
          p,
          thresholds: [0.5, 0.42],
          permutationImportance: {
            names,
            mean: Float64Array.from([0.05, 0.02, 0.1]),
            std: Float64Array.from([0.01, 0.005, 0.02]),
            baseline: 0.8,
            rowsUsed: 2000,
            repeats: 5,
            seed: 42,
          },
          splitGainImportance: { names, gain: [5, 1, 9] },
        },
        {
          name: "genre rule <naive>",
          role: "baseline" as const,
          y,
          p: Float64Array.from(p, (v) => (v > 0.7 ? 1 : 0)),
        },
        { name: "majority", role: "majority" as const, y, p: constant(y, 0.3) },
      ],
      featureNames: names,
      correlation: correlationMatrix(X),
      cost: {
        model: "gbdt",
        choice: chooseThreshold(y, p, {
          prefetch: Float64Array.from(y, (s) => (s === 1 ? 1 : 0)),
          stream: Float64Array.from(y, (s) => (s === 1 ? 0 : 2)),
        }),
        costModel: DEFAULT_COST_MODEL,
      },
      extraRows: {
        title: "Reference protocol (leaky)",
        note: "reference protocol: skip rates computed over all rows, including the predicted ones; inflated",
        rows: [{ name: "LinearSVC", protocol: "seed (leaky)", accuracy: 0.89 }],
      },
      generatedAt: "2024-01-01T00:00:00Z",
    };
  }

  it("contains every section, chart and table, and a pass verdict on strong signal", async () => {
    const steps: string[] = [];
    const report = await buildEvaluationReport({
      ...input("strong"),
      onProgress: (step) => steps.push(step),
    });
    const { html } = report;
    for (const id of [
      "dataset",
      "verdict-details",
      "comparison",
      "reference-protocol",
      "classification-reports",
      "confusion",
      "curves",
      "calibration",
      "threshold",
      "importance",
      "correlation",
    ]) {
      expect(html).toContain(`<section id="${id}">`);
    }
    const charts = [...html.matchAll(/data-chart="([^"]+)"/g)].map((m) => m[1]);
    expect(charts.filter((c) => c === "confusion-matrix").length).toBe(4); // gbdt at 2 thresholds + 2 baselines
    for (const c of [
      "roc",
      "pr",
      "calibration",
      "cost-curve",
      "permutation-importance",
      "split-gain-importance",
      "correlation",
    ]) {
      expect(charts).toContain(c);
    }
    expect(html.match(/<figure class="chart"[^>]*><svg/g)?.length).toBe(charts.length);
    expect(html).toContain('<section class="verdict verdict-pass"');
    expect(html).toContain("Usable signal: gbdt");
    expect(html).toContain("genre rule &lt;naive&gt;");
    expect(html).not.toContain("genre rule <naive>");
    expect(html).toContain("LinearSVC [seed (leaky)]");
    expect(html).toContain('<tr class="muted">');
    expect(html).toContain("      played       0."); // the scikit-learn text layout
    expect(html).toContain("weighted avg");
    expect(html).toContain("chosen by expected cost");
    expect(html).toContain('<td class="num">0.000</td>'); // the majority baseline's F1 for skips
    expect(html).toContain("Time range: test");
    expect(steps).toEqual(["metrics", "curves", "charts", "html", "done"]);
    checkBalancedTags(html);
    expect(externalReferences(html)).toEqual([]);
    expect(html).not.toMatch(/<script/i);
  });

  it("writes metrics.json with every model, the verdict, cost, importances and correlation", async () => {
    const report = await buildEvaluationReport(input("strong"));
    const json = JSON.parse(report.metricsJson);
    expect(json.models.map((m: { name: string }) => m.name)).toEqual([
      "gbdt",
      "genre rule <naive>",
      "majority",
    ]);
    expect(json.models[0].atThresholds.length).toBe(2);
    expect(json.models[0].rocAuc).toBeCloseTo(report.metrics.models[0].rocAuc, 12);
    expect(json.verdict.usableSignal).toBe(true);
    expect(json.cost.chosen.threshold).toBeCloseTo(report.metrics.cost?.chosen.threshold ?? -1, 12);
    expect(json.importance.map((i: { kind: string }) => i.kind)).toEqual(["permutation", "split-gain"]);
    expect(json.importance[0].values).toEqual([0.05, 0.02, 0.1]);
    expect(json.correlation.names).toEqual(names);
    expect(json.correlation.matrix[1][1]).toBe(1);
    expect(json.extraRows[0].accuracy).toBe(0.89);
    expect(json.generatedAt).toBe("2024-01-01T00:00:00Z");
  });

  it("shows 'no usable signal' on a coin flip", async () => {
    const report = await buildEvaluationReport(input("coin"));
    expect(report.metrics.verdict.usableSignal).toBe(false);
    expect(report.html).toContain('<section class="verdict verdict-fail"');
    expect(report.html).toContain("No usable signal");
    checkBalancedTags(report.html);
  });

  it("is byte-reproducible for the same input", async () => {
    const a = await buildEvaluationReport(input("strong"));
    const b = await buildEvaluationReport(input("strong"));
    expect(a.html).toBe(b.html);
    expect(a.metricsJson).toBe(b.metricsJson);
  });

  it("writes report.html and metrics.json into a new folder", async () => {
    const root = mkdtempSync(join(tmpdir(), "skipwise-eval-"));
    try {
      const report = await buildEvaluationReport(input("coin"));
      const out = join(root, "run-1");
      const paths = await writeEvaluationReport(out, report);
      expect(paths).toEqual({ htmlPath: join(out, "report.html"), metricsPath: join(out, "metrics.json") });
      expect(readdirSync(out).sort()).toEqual(["metrics.json", "report.html"]);
      expect(readFileSync(paths.htmlPath, "utf8")).toBe(report.html);
      expect(JSON.parse(readFileSync(paths.metricsPath, "utf8")).verdict.usableSignal).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("works with the minimum input: one model, no extras", async () => {
    const { y, p } = strong(300, 21);
    const report = await buildEvaluationReport({
      dataset: { delivery: "synthetic", protocol: "time split", rowCounts: { test: 300 } },
      models: [{ name: "logreg", y, p }],
    });
    expect(report.html).not.toContain('<section id="threshold">');
    expect(report.html).not.toContain('<section id="importance">');
    expect(report.html).toContain('data-chart="roc"');
    expect(JSON.parse(report.metricsJson).cost).toBeNull();
  });

  it("rejects empty input, duplicate names and mismatched rows", async () => {
    const base = input("strong");
    await expect(buildEvaluationReport({ ...base, models: [] })).rejects.toThrow(/no models/);
    await expect(
      buildEvaluationReport({ ...base, models: [base.models[0], base.models[0]] }),
    ).rejects.toThrow(/duplicate model name "gbdt"/);
    await expect(
      buildEvaluationReport({
        ...base,
        models: [{ name: "m", y: new Uint8Array(2), p: new Float64Array(3) }],
      }),
    ).rejects.toThrow(/"m": y has 2 rows but p has 3/);
    await expect(
      buildEvaluationReport({
        ...base,
        models: [{ name: "svm", y: new Uint8Array(2), p: Float64Array.from([0.2, 1.7]) }],
      }),
    ).rejects.toThrow(/"svm": p\[1\] = 1.7 is not a probability/);
  });
});
