import { describe, expect, it } from "vitest";
import {
  accuracy,
  averagePrecision,
  brier,
  calibrationBins,
  classificationReport,
  compareAucDeLong,
  confusion,
  correlationMatrix,
  formatClassificationReport,
  formatFixed,
  logLoss,
  prAuc,
  prCurve,
  predictLabels,
  rocAuc,
  rocAucCi,
  rocCurve,
} from "../../src/train/metrics.ts";

// Fixture generated once with numpy (seed 7); the expected figures below were printed by
// scikit-learn 1.2.1 / scipy 1.10 (Debian python3-sklearn) and are pasted as literals.
const Y = Uint8Array.from([
  0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1,
  1, 1, 0, 1,
]);
const P = Float64Array.from([
  0.2, 0.6, 0.4, 0.9, 0.7, 0.5, 0.4, 0.4, 0.4, 0.6, 0.6, 0.7, 0.3, 0.3, 0.2, 0.1, 0.6, 0.3, 0.7, 0.4, 0.7,
  0.7, 0.5, 0.4, 0.6, 0.2, 0.3, 0.1, 0.7, 0.2, 0.5, 0.5, 0.9, 0.8, 0.1, 0.9, 1.0, 0.9, 0.4, 0.4,
]);
const P2 = Float64Array.from([
  0.2, 0.76, 0.48, 0.54, 0.79, 0.57, 0.48, 0.39, 0.41, 0.42, 0.32, 0.79, 0.38, 0.42, 0.26, 0.43, 0.31, 0.34,
  0.37, 0.26, 0.83, 0.68, 0.46, 0.46, 0.74, 0.27, 0.45, 0.39, 0.53, 0.36, 0.63, 0.7, 0.53, 0.87, 0.05, 0.83,
  0.91, 0.52, 0.41, 0.61,
]);

const u8 = (a: number[]) => Uint8Array.from(a);
const f64 = (a: number[]) => Float64Array.from(a);

function expectClose(actual: ArrayLike<number>, expected: number[], digits = 12) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i], digits);
}

/** Deterministic pseudo-random generator for property checks. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** O(m·n) Mann–Whitney AUC and DeLong variance straight from the definitions. */
function bruteForceDeLong(y: Uint8Array, p: Float64Array) {
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < y.length; i++) (y[i] === 1 ? pos : neg).push(p[i]);
  const psi = (a: number, b: number) => (a > b ? 1 : a === b ? 0.5 : 0);
  const v10 = pos.map((a) => neg.reduce((s, b) => s + psi(a, b), 0) / neg.length);
  const v01 = neg.map((b) => pos.reduce((s, a) => s + psi(a, b), 0) / pos.length);
  const auc = v10.reduce((s, v) => s + v, 0) / pos.length;
  const svar = (v: number[]) => {
    const mu = v.reduce((s, x) => s + x, 0) / v.length;
    return v.reduce((s, x) => s + (x - mu) ** 2, 0) / (v.length - 1);
  };
  return { auc, variance: svar(v10) / pos.length + svar(v01) / neg.length };
}

describe("threshold metrics", () => {
  it("predicts skip when p >= threshold", () => {
    expect(Array.from(predictLabels(f64([0.1, 0.5, 0.7]), 0.5))).toEqual([0, 1, 1]);
    expect(Array.from(predictLabels(f64([0.1, 0.5, 0.7]), 0.6))).toEqual([0, 0, 1]);
  });

  it("counts a hand-checkable confusion matrix", () => {
    const y = u8([0, 0, 1, 1, 1]);
    const p = f64([0.2, 0.6, 0.4, 0.9, 0.5]);
    expect(confusion(y, p)).toEqual({ tn: 1, fp: 1, fn: 1, tp: 2 });
    expect(accuracy(y, p)).toBeCloseTo(3 / 5, 15);
    expect(confusion(y, p, 0.95)).toEqual({ tn: 2, fp: 0, fn: 3, tp: 0 });
  });

  it("matches scikit-learn's confusion_matrix and accuracy_score", () => {
    expect(confusion(Y, P)).toEqual({ tn: 15, fp: 8, fn: 4, tp: 13 });
    expect(confusion(Y, P, 0.3)).toEqual({ tn: 7, fp: 16, fn: 0, tp: 17 });
    expect(accuracy(Y, P)).toBeCloseTo(0.7, 15);
  });

  it("matches scikit-learn's classification_report(output_dict=True)", () => {
    const r = classificationReport(Y, P);
    expect(r.classes[0].precision).toBeCloseTo(0.7894736842105263, 14);
    expect(r.classes[0].recall).toBeCloseTo(0.6521739130434783, 14);
    expect(r.classes[0].f1).toBeCloseTo(0.7142857142857143, 14);
    expect(r.classes[0].support).toBe(23);
    expect(r.classes[1].precision).toBeCloseTo(0.6190476190476191, 14);
    expect(r.classes[1].recall).toBeCloseTo(0.7647058823529411, 14);
    expect(r.classes[1].f1).toBeCloseTo(0.6842105263157895, 14);
    expect(r.classes[1].support).toBe(17);
    expect(r.accuracy).toBeCloseTo(0.7, 14);
    expect(r.macro.precision).toBeCloseTo(0.7042606516290727, 14);
    expect(r.macro.recall).toBeCloseTo(0.7084398976982097, 14);
    expect(r.macro.f1).toBeCloseTo(0.6992481203007519, 14);
    expect(r.macro.support).toBe(40);
    expect(r.weighted.precision).toBeCloseTo(0.7170426065162907, 14);
    expect(r.weighted.recall).toBeCloseTo(0.7, 14);
    expect(r.weighted.f1).toBeCloseTo(0.7015037593984963, 14);
  });

  it("reports 0 for undefined precision (no predicted skips), as scikit-learn's zero_division default", () => {
    const r = classificationReport(u8([0, 1, 1]), f64([0.1, 0.2, 0.3]));
    expect(r.classes[1].precision).toBe(0);
    expect(r.classes[1].recall).toBe(0);
    expect(r.classes[1].f1).toBe(0);
    expect(r.classes[0].precision).toBeCloseTo(1 / 3, 15);
  });

  it("reproduces scikit-learn's classification_report text byte for byte", () => {
    const r = classificationReport(Y, P);
    expect(formatClassificationReport(r, { targetNames: ["played", "skipped"] })).toBe(
      "              precision    recall  f1-score   support\n\n      played       0.79      0.65      0.71        23\n     skipped       0.62      0.76      0.68        17\n\n    accuracy                           0.70        40\n   macro avg       0.70      0.71      0.70        40\nweighted avg       0.72      0.70      0.70        40\n",
    );
    expect(formatClassificationReport(r, { targetNames: ["played", "skipped"], digits: 4 })).toBe(
      "              precision    recall  f1-score   support\n\n      played     0.7895    0.6522    0.7143        23\n     skipped     0.6190    0.7647    0.6842        17\n\n    accuracy                         0.7000        40\n   macro avg     0.7043    0.7084    0.6992        40\nweighted avg     0.7170    0.7000    0.7015        40\n",
    );
    expect(formatClassificationReport(r)).toBe(
      "              precision    recall  f1-score   support\n\n           0       0.79      0.65      0.71        23\n           1       0.62      0.76      0.68        17\n\n    accuracy                           0.70        40\n   macro avg       0.70      0.71      0.70        40\nweighted avg       0.72      0.70      0.70        40\n",
    );
  });

  it("formats numbers like Python (exact binary value, ties to even)", () => {
    expect(formatFixed(0.125, 2)).toBe("0.12"); // exactly representable tie -> even
    expect(formatFixed(0.375, 2)).toBe("0.38");
    expect(formatFixed(0.675, 2)).toBe("0.68"); // 0.675 is stored slightly above .675
    expect(formatFixed(0.5, 0)).toBe("0");
    expect(formatFixed(1.5, 0)).toBe("2");
    expect(formatFixed(0.70000001, 2)).toBe("0.70");
  });

  it("rejects mismatched lengths, bad labels and NaN scores", () => {
    expect(() => confusion(u8([0, 1]), f64([0.5]))).toThrow(/2 rows but p has 1/);
    expect(() => confusion(u8([0, 2]), f64([0.5, 0.5]))).toThrow(/y\[1\] = 2/);
    expect(() => rocAuc(u8([0, 1]), f64([0.5, Number.NaN]))).toThrow(/p\[1\] is NaN/);
    expect(() => accuracy(u8([]), f64([]))).toThrow(/no rows/);
  });
});

describe("ROC", () => {
  it("matches the scikit-learn documentation example", () => {
    const y = u8([0, 0, 1, 1]);
    const p = f64([0.1, 0.4, 0.35, 0.8]);
    expect(rocAuc(y, p)).toBeCloseTo(0.75, 15);
    const c = rocCurve(y, p);
    expectClose(c.fpr, [0, 0, 0.5, 0.5, 1]);
    expectClose(c.tpr, [0, 0.5, 0.5, 1, 1]);
    expect(c.thresholds[0]).toBe(Number.POSITIVE_INFINITY);
    expectClose(c.thresholds.subarray(1), [0.8, 0.4, 0.35, 0.1]);
  });

  it("drops collinear points like drop_intermediate=True", () => {
    const y = u8([1, 1, 1, 0, 0]);
    const p = f64([0.9, 0.8, 0.7, 0.2, 0.1]);
    const c = rocCurve(y, p);
    expectClose(c.fpr, [0, 0, 0, 1]);
    expectClose(c.tpr, [0, 1 / 3, 1, 1]);
    expectClose(c.thresholds.subarray(1), [0.9, 0.7, 0.1]);
    expect(rocCurve(y, p, { dropIntermediate: false }).fpr.length).toBe(6);
  });

  it("matches scikit-learn's roc_curve and roc_auc_score with tied scores", () => {
    expect(rocAuc(Y, P)).toBeCloseTo(0.8375959079283888, 14);
    const c = rocCurve(Y, P);
    expectClose(
      c.fpr,
      [
        0.0, 0.0, 0.0, 0.0, 0.08695652173913043, 0.21739130434782608, 0.34782608695652173, 0.5652173913043478,
        0.6956521739130435, 0.8695652173913043, 1.0,
      ],
    );
    expectClose(
      c.tpr,
      [
        0.0, 0.058823529411764705, 0.29411764705882354, 0.35294117647058826, 0.5882352941176471,
        0.7058823529411765, 0.7647058823529411, 0.9411764705882353, 1.0, 1.0, 1.0,
      ],
    );
    expectClose(c.thresholds.subarray(1), [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]);
  });

  it("gives 0.5 for constant scores, 1 and 0 for perfect and reversed rankings, NaN for one class", () => {
    expect(rocAuc(u8([0, 1, 0, 1]), f64([0.5, 0.5, 0.5, 0.5]))).toBe(0.5);
    expect(rocAuc(u8([0, 0, 1]), f64([0.1, 0.2, 0.3]))).toBe(1);
    expect(rocAuc(u8([0, 0, 1]), f64([0.3, 0.2, 0.1]))).toBe(0);
    expect(rocAuc(u8([1, 1]), f64([0.3, 0.2]))).toBeNaN();
  });

  it("equals the O(m·n) Mann–Whitney count on random data with many ties", () => {
    const rand = lcg(11);
    for (let trial = 0; trial < 5; trial++) {
      const n = 300 + trial * 37;
      const y = new Uint8Array(n);
      const p = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        y[i] = rand() < 0.3 ? 1 : 0;
        p[i] = Math.round((0.2 * y[i] + rand()) * 20) / 20;
      }
      const expected = bruteForceDeLong(y, p);
      expect(rocAuc(y, p)).toBeCloseTo(expected.auc, 13);
      expect(rocAucCi(y, p).variance).toBeCloseTo(expected.variance, 15);
    }
  });
});

describe("DeLong", () => {
  it("matches an independent midrank implementation (scipy rankdata, Sun & Xu 2014)", () => {
    const ci = rocAucCi(Y, P);
    expect(ci.auc).toBeCloseTo(0.8375959079283888, 14);
    expect(ci.variance).toBeCloseTo(0.0038848731723009765, 15);
    expect(ci.lower).toBeCloseTo(0.7154338012217117, 10);
    expect(ci.upper).toBeCloseTo(0.9597580146350658, 10);
    expect(ci.positives).toBe(17);
    expect(ci.negatives).toBe(23);
  });

  it("widens with the confidence level and clips to [0, 1]", () => {
    const ci90 = rocAucCi(Y, P, 0.9);
    const ci99 = rocAucCi(Y, P, 0.99);
    expect(ci90.upper - ci90.lower).toBeLessThan(ci99.upper - ci99.lower);
    const perfect = rocAucCi(u8([0, 0, 1, 1]), f64([0.1, 0.2, 0.8, 0.9]));
    expect(perfect.auc).toBe(1);
    expect(perfect.upper).toBe(1);
    expect(() => rocAucCi(Y, P, 1.5)).toThrow(/level/);
  });

  it("compares two correlated AUCs like the reference implementation", () => {
    const r = compareAucDeLong(Y, P, P2);
    expect(r.aucA).toBeCloseTo(0.8375959079283888, 14);
    expect(r.aucB).toBeCloseTo(0.8554987212276215, 14);
    expect(r.z).toBeCloseTo(-0.2815314736968113, 10);
    expect(r.pValue).toBeCloseTo(0.7783027913389308, 10);
    const same = compareAucDeLong(Y, P, P);
    expect(same.difference).toBe(0);
    expect(same.pValue).toBe(1);
  });
});

describe("precision–recall", () => {
  it("matches the scikit-learn documentation example", () => {
    const y = u8([0, 0, 1, 1]);
    const p = f64([0.1, 0.4, 0.35, 0.8]);
    const c = prCurve(y, p);
    expectClose(c.precision, [0.5, 2 / 3, 0.5, 1, 1]);
    expectClose(c.recall, [1, 1, 0.5, 0.5, 0]);
    expectClose(c.thresholds, [0.1, 0.35, 0.4, 0.8]);
    expect(averagePrecision(y, p)).toBeCloseTo(0.8333333333333333, 15);
  });

  it("matches scikit-learn's precision_recall_curve and average_precision_score with ties", () => {
    const c = prCurve(Y, P);
    expectClose(
      c.precision,
      [
        0.425, 0.4594594594594595, 0.5151515151515151, 0.5517241379310345, 0.6190476190476191,
        0.7058823529411765, 0.8333333333333334, 1.0, 1.0, 1.0, 1.0,
      ],
    );
    expectClose(
      c.recall,
      [
        1.0, 1.0, 1.0, 0.9411764705882353, 0.7647058823529411, 0.7058823529411765, 0.5882352941176471,
        0.35294117647058826, 0.29411764705882354, 0.058823529411764705, 0.0,
      ],
    );
    expectClose(c.thresholds, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]);
    expect(averagePrecision(Y, P)).toBeCloseTo(0.7961452698357603, 14);
    expect(prAuc(Y, P)).toBe(averagePrecision(Y, P));
  });

  it("equals the prevalence for constant scores and NaN without positives", () => {
    expect(averagePrecision(u8([0, 1, 0, 1]), f64([0.5, 0.5, 0.5, 0.5]))).toBe(0.5);
    expect(averagePrecision(u8([0, 0]), f64([0.5, 0.2]))).toBeNaN();
  });
});

describe("probability metrics", () => {
  it("log loss matches scikit-learn, including float64-eps clipping", () => {
    expect(logLoss(Y, P)).toBeCloseTo(0.4951999216642854, 14);
    expect(logLoss(u8([1, 0]), f64([1, 0]))).toBeCloseTo(2.2204460492503136e-16, 25);
    expect(logLoss(u8([1, 0, 1]), f64([0, 0.5, 0.9]))).toBeCloseTo(12.28072036177831, 12);
    // Hand check: -(ln 0.8 + ln 0.6) / 2
    expect(logLoss(u8([1, 0]), f64([0.8, 0.4]))).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 15);
  });

  it("Brier matches scikit-learn and a hand computation", () => {
    expect(brier(Y, P)).toBeCloseTo(0.16625, 15);
    expect(brier(u8([1, 0]), f64([0.8, 0.4]))).toBeCloseTo((0.04 + 0.16) / 2, 15);
  });
});

describe("calibration bins", () => {
  it("match scikit-learn's calibration_curve (uniform bins)", () => {
    const bins = calibrationBins(Y, P, { bins: 5 });
    expect(bins.map((b) => b.count)).toEqual([7, 12, 9, 7, 5]);
    const nonEmpty = bins.filter((b) => b.count > 0);
    expectClose(
      nonEmpty.map((b) => b.fractionPositive),
      [0.0, 0.3333333333333333, 0.3333333333333333, 0.7142857142857143, 1.0],
    );
    expectClose(
      nonEmpty.map((b) => b.meanPredicted),
      [0.15714285714285717, 0.36666666666666664, 0.5555555555555556, 0.7142857142857143, 0.9200000000000002],
    );
    expect(bins[0].lower).toBe(0);
    expect(bins[4].upper).toBe(1);
  });

  it("match scikit-learn's calibration_curve (quantile bins)", () => {
    const bins = calibrationBins(Y, P, { bins: 5, strategy: "quantile" }).filter((b) => b.count > 0);
    expectClose(
      bins.map((b) => b.fractionPositive),
      [0.09090909090909091, 0.375, 0.3333333333333333, 0.6666666666666666, 1.0],
    );
    expectClose(
      bins.map((b) => b.meanPredicted),
      [0.2090909090909091, 0.39999999999999997, 0.5555555555555556, 0.7000000000000001, 0.9],
    );
    expect(bins.reduce((s, b) => s + b.count, 0)).toBe(40);
  });

  it("keep empty bins with count 0 and reject probabilities outside [0, 1]", () => {
    const bins = calibrationBins(u8([0, 1]), f64([0.05, 0.95]), { bins: 4 });
    expect(bins.map((b) => b.count)).toEqual([1, 0, 0, 1]);
    expect(bins[1].meanPredicted).toBeNaN();
    expect(() => calibrationBins(u8([0]), f64([1.2]))).toThrow(/outside \[0, 1\]/);
  });
});

describe("correlation matrix", () => {
  it("matches numpy corrcoef on pairwise-complete rows", () => {
    const rows = [
      [0.193, 0.186, -0.591],
      [-0.119, -2.057, -1.131],
      [null, -1.947, 0.847],
      [-1.746, -0.116, -0.845],
      [0.779, 0.52, -1.537],
      [1.249, null, -0.066],
      [-0.274, -0.297, -0.975],
      [1.099, 0.006, null],
      [null, -1.023, -1.278],
      [1.257, 0.474, 0.966],
      [0.013, -0.688, -0.327],
      [-0.56, -0.272, -0.375],
    ];
    // The matrix is float32, so compare to float32-rounded inputs' correlation at ~6 digits.
    const data = Float32Array.from(rows.flat().map((v) => (v === null ? Number.NaN : v)));
    const r = correlationMatrix({ rows: 12, cols: 3, data });
    expectClose(
      r,
      [
        1.0, 0.3256719800446652, 0.4255614753429484, 0.3256719800446652, 1.0, -0.07048200916403202,
        0.42556147534294836, -0.07048200916403202, 1.0,
      ],
      6,
    );
  });

  it("gives ±1 for exact linear relations and NaN for constant or unshared columns", () => {
    const data = new Float32Array(4 * 5);
    const allNaN = Number.NaN;
    for (let i = 0; i < 5; i++) {
      data[i * 4] = i;
      data[i * 4 + 1] = 10 - 2 * i;
      data[i * 4 + 2] = 0.1; // constant
      data[i * 4 + 3] = i < 1 ? i : allNaN; // one value only
    }
    const r = correlationMatrix({ rows: 5, cols: 4, data });
    expect(r[1]).toBeCloseTo(-1, 12);
    expect(r[0]).toBeCloseTo(1, 12);
    expect(r[2]).toBeNaN();
    expect(r[2 * 4 + 2]).toBeNaN();
    expect(r[3]).toBeNaN();
  });

  it("samples evenly spaced rows when asked and checks the matrix shape", () => {
    const rows = 1000;
    const data = new Float32Array(rows * 2);
    const rand = lcg(3);
    for (let i = 0; i < rows; i++) {
      data[i * 2] = rand();
      data[i * 2 + 1] = data[i * 2] + 0.1 * rand();
    }
    const full = correlationMatrix({ rows, cols: 2, data });
    const sampled = correlationMatrix({ rows, cols: 2, data }, { maxRows: 200 });
    expect(full[1]).toBeGreaterThan(0.98);
    expect(Math.abs(sampled[1] - full[1])).toBeLessThan(0.01);
    expect(sampled[1]).not.toBe(full[1]);
    expect(() => correlationMatrix({ rows: 3, cols: 2, data: new Float32Array(5) })).toThrow(/rows × cols/);
  });
});
