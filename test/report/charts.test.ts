import { describe, expect, it } from "vitest";
import {
  calibrationChart,
  confusionMatrixChart,
  correlationHeatmapChart,
  costCurveChart,
  frontierChart,
  importanceChart,
  intervalBarChart,
  prChart,
  rocChart,
  thinCurve,
  timeSeriesChart,
} from "../../src/report/charts/index.ts";
import { renderVegaLiteSvg } from "../../src/report/vega.ts";
import { calibrationBins, prCurve, rocCurve } from "../../src/train/metrics.ts";
import { chooseThreshold } from "../../src/train/threshold.ts";
import { countItems, markGroups, svgTexts } from "./svg-helpers.ts";

/** Renders and fails on any Vega warning, so a builder cannot silently drop an encoding. */
async function render(spec: object): Promise<string> {
  const warnings: string[] = [];
  const svg = await renderVegaLiteSvg(spec, { onWarning: (m) => warnings.push(m) });
  expect(warnings).toEqual([]);
  expect(svg.startsWith("<svg")).toBe(true);
  expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  return svg;
}

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function scored(n: number, seed: number) {
  const rand = lcg(seed);
  const y = new Uint8Array(n);
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    p[i] = rand();
    y[i] = rand() < p[i] ? 1 : 0;
  }
  return { y, p };
}

describe("chart builders render to SVG", () => {
  it("confusion matrix: four cells with their counts and shares", async () => {
    const svg = await render(
      confusionMatrixChart({ tn: 50, fp: 10, fn: 15, tp: 25 }, { title: "gbdt at 0.5" }),
    );
    const [cells] = markGroups(svg, "rect");
    expect(countItems(cells)).toBe(4);
    const texts = svgTexts(svg);
    for (const t of [
      "50",
      "10",
      "15",
      "25",
      "50.0 %",
      "25.0 %",
      "played",
      "skipped",
      "Predicted",
      "Actual",
      "gbdt at 0.5",
    ]) {
      expect(texts).toContain(t);
    }
    expect(cells).toContain("Predicted: skipped; Actual: played; count: 10");
  });

  it("ROC: one line per model plus the diagonal, AUC in the legend", async () => {
    const a = scored(400, 1);
    const b = scored(400, 2);
    const svg = await render(
      rocChart([
        { name: "gbdt", ...rocCurve(a.y, a.p), auc: 0.812 },
        { name: "logreg", ...rocCurve(b.y, b.p) },
      ]),
    );
    expect(markGroups(svg, "line").length).toBe(3);
    const texts = svgTexts(svg);
    expect(texts).toContain("gbdt (AUC 0.812)");
    expect(texts).toContain("logreg");
    expect(texts).toContain("False positive rate");
  });

  it("thins long curves but keeps both ends", () => {
    const n = 100_000;
    const x = Float64Array.from({ length: n }, (_, i) => i / (n - 1));
    const points = thinCurve(x, x, 200);
    expect(points.length).toBeLessThanOrEqual(202);
    expect(points.length).toBeGreaterThan(150);
    expect(points[0]).toEqual([0, 0]);
    expect(points[points.length - 1]).toEqual([1, 1]);
    expect(() => thinCurve([0, 1], [0])).toThrow(/2 points but y has 1/);
  });

  it("precision–recall: curves and the prevalence line with its label", async () => {
    const a = scored(300, 3);
    const svg = await render(
      prChart([{ name: "gbdt", ...prCurve(a.y, a.p), ap: 0.7 }], { prevalence: 0.42 }),
    );
    expect(markGroups(svg, "rule").length).toBeGreaterThanOrEqual(1);
    const texts = svgTexts(svg);
    expect(texts).toContain("gbdt (AP 0.700)");
    expect(texts).toContain("share of skips 0.420");
    expect(texts).toContain("Recall (skips)");
  });

  it("calibration: one point per non-empty bin and series", async () => {
    const a = scored(500, 4);
    const b = scored(500, 5);
    const binsA = calibrationBins(a.y, a.p, { bins: 10 });
    const binsB = calibrationBins(b.y, b.p, { bins: 5 });
    const svg = await render(
      calibrationChart([
        { name: "gbdt", bins: binsA },
        { name: "logreg", bins: binsB },
      ]),
    );
    const symbols = markGroups(svg, "symbol");
    const points = symbols.reduce((s, g) => s + countItems(g), 0);
    expect(points).toBe(binsA.filter((x) => x.count > 0).length + binsB.filter((x) => x.count > 0).length);
    expect(svgTexts(svg)).toContain("Observed share of skips");
  });

  it("cost curve: three series and the chosen point labelled", async () => {
    const a = scored(400, 6);
    const choice = chooseThreshold(a.y, a.p, {
      prefetch: Float64Array.from(a.y, (s) => (s === 1 ? 1 : 0)),
      stream: Float64Array.from(a.y, (s) => (s === 1 ? 0 : 2)),
    });
    const svg = await render(costCurveChart(choice.curve, { chosen: choice.chosen, atHalf: choice.atHalf }));
    const texts = svgTexts(svg);
    expect(texts).toContain(
      `chosen t = ${choice.chosen.threshold.toFixed(3)}, cost ${choice.chosen.cost.toFixed(4)}`,
    );
    expect(texts).toContain(`t = 0.5, cost ${choice.atHalf.cost.toFixed(4)}`);
    expect(texts).toContain("expected cost per listen");
    expect(texts).toContain("waste rate (prefetched, skipped)");
    expect(texts).toContain("stall rate (not prefetched, played)");
    const diamonds = markGroups(svg, "symbol");
    expect(diamonds.reduce((s, g) => s + countItems(g), 0)).toBeGreaterThanOrEqual(2);
  });

  it("importance: horizontal bars sorted largest first, limited to top N, with error bars", async () => {
    const items = Array.from({ length: 40 }, (_, i) => ({
      name: `feat_${i}`,
      value: (i % 7) / 10 + i / 1000,
      std: 0.01,
    }));
    const svg = await render(importanceChart(items, { top: 12, title: "Permutation importance" }));
    const [bars] = markGroups(svg, "rect");
    expect(countItems(bars)).toBe(12);
    expect(countItems(markGroups(svg, "rule").find((g) => g.includes('role="graphics-symbol"')) ?? "")).toBe(
      12,
    );
    const labels = svgTexts(svg).filter((t) => t.startsWith("feat_"));
    const expected = items
      .slice()
      .sort((a, b) => b.value - a.value)
      .slice(0, 12)
      .map((x) => x.name);
    expect(labels).toEqual(expected);
  });

  it("correlation heatmap: 60 × 60 cells, every feature labelled on both axes", async () => {
    const k = 60;
    const names = Array.from({ length: k }, (_, i) => `user_genre_skip_rate_${i}`);
    const matrix = new Float64Array(k * k);
    for (let a = 0; a < k; a++)
      for (let b = 0; b < k; b++) matrix[a * k + b] = a === b ? 1 : Math.cos(a * b) / 2;
    matrix[3] = Number.NaN; // an undefined pair renders as an empty cell, not an error
    const svg = await render(correlationHeatmapChart(names, matrix));
    const [cells] = markGroups(svg, "rect");
    expect(countItems(cells)).toBe(k * k - 1);
    const texts = svgTexts(svg);
    for (const name of names) expect(texts.filter((t) => t === name).length).toBe(2);
    const width = Number(/width="(\d+)"/.exec(svg)?.[1]);
    expect(width).toBeGreaterThanOrEqual(k * 10);
    expect(width).toBeLessThan(1400);
    expect(() => correlationHeatmapChart(names, new Float64Array(10))).toThrow(/60 names need 3600/);
  });

  it("correlation heatmap prints values in the cells of a small matrix", async () => {
    const svg = await render(correlationHeatmapChart(["a", "b"], [1, -0.25, -0.25, 1]));
    const texts = svgTexts(svg);
    expect(texts.filter((t) => t === "-0.25").length).toBe(2);
    expect(texts.filter((t) => t === "1.00").length).toBe(2);
  });

  it("interval bars: one bar and one error bar per variant, with value labels", async () => {
    const svg = await render(
      intervalBarChart(
        [
          { name: "control", value: 0.712, lower: 0.69, upper: 0.731 },
          { name: "gbdt", value: 0.745, lower: 0.724, upper: 0.764 },
        ],
        { valueTitle: "Accuracy", domain: [0, 1], title: "Accuracy per variant" },
      ),
    );
    const [bars] = markGroups(svg, "rect");
    expect(countItems(bars)).toBe(2);
    const texts = svgTexts(svg);
    expect(texts).toContain("0.712 [0.690, 0.731]");
    expect(texts).toContain("0.745 [0.724, 0.764]");
    expect(texts).toContain("Accuracy per variant");
  });

  it("time series: one line per series over UTC time; rejects invalid times", async () => {
    const day = 86_400_000;
    const t0 = Date.UTC(2024, 0, 1);
    const svg = await render(
      timeSeriesChart(
        [
          { name: "A", points: [0, 1, 2].map((d) => ({ time: t0 + d * day, value: 0.7 + d / 100 })) },
          {
            name: "B",
            points: [0, 1, 2].map((d) => ({ time: new Date(t0 + d * day).toISOString(), value: 0.74 })),
          },
        ],
        { valueTitle: "Cumulative accuracy" },
      ),
    );
    expect(markGroups(svg, "line").length).toBe(2);
    const texts = svgTexts(svg);
    expect(texts).toContain("Cumulative accuracy");
    expect(texts).toContain("A");
    expect(texts).toContain("B");
    expect(() => timeSeriesChart([{ name: "x", points: [{ time: "not a date", value: 1 }] }])).toThrow(
      /invalid time/,
    );
  });

  it("frontier: sweeps as lines, named policies as labelled points, recommended point highlighted", async () => {
    const svg = await render(
      frontierChart(
        [
          { policy: "cache everything", wasted: 0.15, missed: 0 },
          { policy: "cache nothing", wasted: 0, missed: 1 },
          { policy: "oracle", wasted: 0, missed: 0 },
          ...[0.3, 0.5, 0.7].map((t) => ({
            policy: `gbdt t=${t}`,
            group: "gbdt",
            wasted: 0.1 * t,
            missed: 0.3 * (1 - t),
          })),
        ],
        { recommended: "gbdt t=0.5" },
      ),
    );
    const texts = svgTexts(svg);
    for (const t of ["cache everything", "cache nothing", "oracle", "gbdt"]) expect(texts).toContain(t);
    expect(texts).toContain("recommended: gbdt t=0.5 (wasted 0.050, missed 0.150)");
    expect(markGroups(svg, "line").length).toBe(1);
    expect(texts).toContain("15%");
    expect(() => frontierChart([])).toThrow(/no points/);
  });
});
