// abtest.html / abtest.json from an ExperimentAnalysis: tables, a bar chart of accuracy with intervals,
// cumulative accuracy over time, and each variant's cost against cache-everything with its always-valid
// interval over listens.

import { join } from "node:path";
import { writeFileAtomic } from "../base/atomic-write.ts";
import { percent as pct } from "../base/format.ts";
import { type Interval, normalInterval } from "../base/statistics.ts";
import { describeCostModel } from "../listens/cost-model.ts";
import { CHART_CONFIG, type ChartSpec, finiteOrNull } from "../report/charts/common.ts";
import { intervalBarChart, timeSeriesChart } from "../report/charts/index.ts";
import { type Cell, type Page, renderHtmlPage, type Section, type Verdict } from "../report/html.ts";
import { renderVegaLiteSvg } from "../report/vega.ts";
import type { CostConclusion, VariantCostTest } from "./cost-test.ts";
import type { ExperimentAnalysis } from "./types.ts";

export interface ReportOptions {
  /** Footer timestamp; pass one for reproducible output. */
  generatedAt?: string;
}

function withInterval(
  i: Interval | { estimate?: number; lower: number; upper: number },
  value?: number,
): string {
  const v = value ?? (i as Interval).estimate;
  if (!Number.isFinite(v)) return "n/a";
  return `${v.toFixed(3)} [${i.lower.toFixed(3)}, ${i.upper.toFixed(3)}]`;
}

function signed(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(3)}` : "n/a";
}

function pValueText(p: number): string {
  if (!Number.isFinite(p)) return "n/a";
  return p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
}

const CONCLUSION: Record<CostConclusion, string> = {
  saves: "saves more than cache-everything",
  "costs more": "costs more than cache-everything",
  "not yet": "not yet concluded",
};

function listensText(n: number): string {
  return Number.isFinite(n) ? n.toLocaleString("en-US") : "n/a";
}

/** The cost test of one variant in two lines: the intervals and conclusion, then the power analysis. */
function costLines(t: VariantCostTest, level: string): string[] {
  const d = t.detection;
  return [
    `${t.variant}: cost vs cache-everything ${signed(t.difference.mean)} per listen ` +
      `(cache-everything ${Number.isFinite(t.cacheAllCost) ? t.cacheAllCost.toFixed(3) : "n/a"}), ` +
      `fixed-horizon ${level} [${signed(t.fixedHorizon.lower)}, ${signed(t.fixedHorizon.upper)}] p = ${pValueText(t.fixedHorizon.pValue)}, ` +
      `always-valid ${level} [${signed(t.sequential.lower)}, ${signed(t.sequential.upper)}] after ` +
      `${listensText(t.listens)} listens: ${CONCLUSION[t.conclusion]}`,
    `${t.variant}: listens needed to detect a saving of ${pct(d.savingShare)} (${Number.isFinite(d.effect) ? d.effect.toFixed(3) : "n/a"} per listen) ` +
      `with ${pct(d.power)} power: ${listensText(d.fixedHorizonListens)} (fixed-horizon, one look), ` +
      `${listensText(d.sequentialListens)} (always-valid); detectable now: ` +
      `${pct(d.detectableShareNow.fixedHorizon)} / ${pct(d.detectableShareNow.sequential)}`,
  ];
}

/** Each variant's always-valid interval of the per-listen cost difference over listens, with 0 marked. */
function costIntervalChart(a: ExperimentAnalysis): ChartSpec {
  const values = a.costTimeline.map((p) => ({
    series: p.variant,
    listens: p.listens,
    mean: finiteOrNull(p.mean),
    lower: finiteOrNull(p.lower),
    upper: finiteOrNull(p.upper),
  }));
  const x = { field: "listens", type: "quantitative", title: "Listens with feedback" };
  const color = { field: "series", type: "nominal", title: null, legend: { orient: "bottom" } };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `Cost − cache-everything per listen (${Math.round(a.confidence * 100)} % always-valid interval)`,
    config: CHART_CONFIG,
    width: 520,
    height: 280,
    layer: [
      {
        data: { values },
        mark: { type: "area", opacity: 0.2, clip: true },
        encoding: {
          x,
          y: { field: "lower", type: "quantitative", title: "Cost difference per listen" },
          y2: { field: "upper" },
          color,
        },
      },
      {
        data: { values },
        mark: { type: "line", strokeWidth: 2, clip: true },
        encoding: { x, y: { field: "mean", type: "quantitative" }, color },
      },
      {
        data: { values: [{ zero: 0 }] },
        mark: { type: "rule", color: "#111", strokeDash: [4, 3] },
        encoding: { y: { field: "zero", type: "quantitative" } },
      },
    ],
  } as ChartSpec;
}

function verdictOf(a: ExperimentAnalysis): Verdict {
  const level = `${Math.round(a.confidence * 100)} %`;
  if (a.srm.alarm) {
    return {
      status: "fail",
      headline: `Sample-ratio mismatch (p = ${pValueText(a.srm.pValue)}): the split is broken; do not read the differences`,
      details: a.warnings,
    };
  }
  if (a.comparisons.length === 0) {
    return {
      status: "warn",
      headline: `Only one variant (${a.control}) has decisions: nothing to compare`,
      details: a.warnings,
    };
  }
  const details = a.comparisons.map((c) => {
    const d = c.accuracy;
    return (
      `${c.variant} − ${c.control}: accuracy ${signed(d.difference)} ` +
      `(${level} CI ${signed(d.newcombe.lower)} to ${signed(d.newcombe.upper)}, p = ${pValueText(d.pValue)}); ` +
      `CUPED ${signed(c.cupedAccuracy.difference)} (${signed(c.cupedAccuracy.lower)} to ${signed(c.cupedAccuracy.upper)})`
    );
  });
  const significant = a.comparisons.filter(
    (c) => c.accuracy.newcombe.lower > 0 || c.accuracy.newcombe.upper < 0,
  );
  if (significant.length === 0) {
    return {
      status: "warn",
      headline: `No variant's accuracy differs from ${a.control} at the ${level} level`,
      details: [...details, ...a.warnings],
    };
  }
  const fragile = significant.filter((c) => c.accuracyClustered.lower <= 0 && c.accuracyClustered.upper >= 0);
  const caveats = fragile.map(
    (c) =>
      `${c.variant}: the difference is not significant once decisions are clustered by user (few users, correlated decisions)`,
  );
  const best = significant.reduce((x, y) => (y.accuracy.difference > x.accuracy.difference ? y : x));
  const direction = best.accuracy.difference > 0 ? "beats" : "is worse than";
  return {
    status: best.accuracy.difference > 0 && caveats.length === 0 ? "pass" : "warn",
    headline: `${best.variant} ${direction} ${a.control} on accuracy by ${signed(best.accuracy.difference)} (${level} CI excludes 0)`,
    details: [...caveats, ...details, ...a.warnings],
  };
}

async function chartsOf(
  a: ExperimentAnalysis,
): Promise<{ accuracy: string; cuped: string; timeline: string; cost: string }> {
  const accuracy = await renderVegaLiteSvg(
    intervalBarChart(
      a.variants.map((v) => ({
        name: v.variant,
        value: v.accuracy.estimate,
        lower: v.accuracy.lower,
        upper: v.accuracy.upper,
      })),
      {
        title: `Accuracy per variant (${Math.round(a.confidence * 100)} % Wilson interval)`,
        valueTitle: "Accuracy",
        domain: [0, 1],
      },
    ),
  );
  const critical = (v: (typeof a.variants)[number]) => {
    const { lower, upper } = normalInterval(
      v.cuped.adjusted.mean,
      v.cuped.adjusted.standardError,
      a.confidence,
    );
    return { lower, upper };
  };
  const cuped = await renderVegaLiteSvg(
    intervalBarChart(
      a.variants.map((v) => ({ name: v.variant, value: v.cuped.adjusted.mean, ...critical(v) })),
      {
        title: `CUPED-adjusted mean per-user accuracy (${Math.round(a.confidence * 100)} % normal interval)`,
        valueTitle: "Per-user accuracy",
        domain: [0, 1],
      },
    ),
  );
  const timeline = await renderVegaLiteSvg(
    timeSeriesChart(
      a.variants.map((v) => ({
        name: v.variant,
        points: a.timeline
          .filter((p) => p.variant === v.variant)
          .map((p) => ({ time: p.ts, value: p.accuracy })),
      })),
      { title: "Cumulative accuracy over time", valueTitle: "Cumulative accuracy" },
    ),
  );
  const cost = await renderVegaLiteSvg(costIntervalChart(a));
  return { accuracy, cuped, timeline, cost };
}

function sectionsOf(
  a: ExperimentAnalysis,
  charts: { accuracy: string; cuped: string; timeline: string; cost: string },
): Section[] {
  const variantRows: Cell[][] = a.variants.map((v) => [
    v.variant,
    v.models.join(", "),
    v.users,
    v.decisions,
    v.decisionsWithOutcome,
    withInterval(v.accuracy),
    withInterval(v.precision),
    withInterval(v.recall),
    v.f1,
  ]);
  const comparisonRows: Cell[][] = a.comparisons.map((c) => [
    `${c.variant} − ${c.control}`,
    signed(c.accuracy.difference),
    `[${signed(c.accuracy.newcombe.lower)}, ${signed(c.accuracy.newcombe.upper)}]`,
    `[${signed(c.accuracy.wald.lower)}, ${signed(c.accuracy.wald.upper)}]`,
    c.accuracy.z,
    pValueText(c.accuracy.pValue),
    `[${signed(c.accuracyClustered.lower)}, ${signed(c.accuracyClustered.upper)}]`,
    pValueText(c.accuracyClustered.pValue),
    `${signed(c.userAccuracy.difference)} [${signed(c.userAccuracy.lower)}, ${signed(c.userAccuracy.upper)}]`,
    `${signed(c.cupedAccuracy.difference)} [${signed(c.cupedAccuracy.lower)}, ${signed(c.cupedAccuracy.upper)}]`,
    pValueText(c.cupedAccuracy.pValue),
  ]);
  const srmRows: Cell[][] = a.srm.variants.map((v, i) => [
    v,
    a.srm.weights[i],
    a.srm.observed[i],
    a.srm.expected[i],
  ]);
  const cupedRows: Cell[][] = a.variants.map((v) => [
    v.variant,
    v.cuped.users,
    v.cuped.usersWithoutCovariate,
    v.cuped.raw.mean,
    v.cuped.raw.variance,
    v.cuped.adjusted.mean,
    v.cuped.adjusted.variance,
    pct(v.cuped.varianceReduction),
  ]);
  const cacheRows: Cell[][] = a.variants.map((v) => [
    v.variant,
    v.cache.records,
    v.cache.totalMs / 3_600_000,
    v.cache.wastedMs / 3_600_000,
    pct(v.cache.wastedShare),
    v.cache.missedMs / 3_600_000,
    pct(v.cache.missedShare),
    pct(v.cache.cacheAllWastedMs / v.cache.totalMs),
    pct(v.cache.wasteAvoidedShare),
  ]);
  const level = `${Math.round(a.confidence * 100)} %`;
  const costRows: Cell[][] = a.costTests.map((t) => [
    t.variant,
    t.listens,
    t.cacheAllCost,
    t.variantCost,
    signed(t.difference.mean),
    `[${signed(t.fixedHorizon.lower)}, ${signed(t.fixedHorizon.upper)}]`,
    pValueText(t.fixedHorizon.pValue),
    `[${signed(t.sequential.lower)}, ${signed(t.sequential.upper)}]`,
    CONCLUSION[t.conclusion],
    listensText(t.detection.fixedHorizonListens),
    listensText(t.detection.sequentialListens),
  ]);
  const planned = a.costTests[0]?.sequential;
  const detection = a.costTests[0]?.detection;
  return [
    {
      id: "variants",
      title: "Variants",
      intro: `SKIP is the positive class. Intervals are ${level} Wilson score intervals.`,
      blocks: [
        {
          kind: "table",
          table: {
            columns: [
              "Variant",
              "Models",
              "Users",
              "Decisions",
              "With feedback",
              "Accuracy",
              "Precision",
              "Recall",
              "F1",
            ],
            rows: variantRows,
            highlightRows: [a.variants.findIndex((v) => v.variant === a.control)],
            note: `Highlighted: the control (${a.control}).`,
          },
        },
        {
          kind: "charts",
          charts: [
            {
              name: "accuracy",
              svg: charts.accuracy,
              caption: "Decision-level accuracy with its Wilson interval.",
            },
            { name: "cuped", svg: charts.cuped, caption: "Per-user accuracy after CUPED adjustment." },
          ],
        },
      ],
    },
    {
      id: "comparison",
      title: "Difference from the control",
      intro:
        "Accuracy difference with Newcombe's hybrid score interval (method 10) and the Wald interval; " +
        "p-value from the pooled two-proportion z-test; these treat decisions as independent. The clustered " +
        "interval uses the delta-method (user-clustered) variance of the same difference, which holds when one " +
        "user's decisions are correlated. Per-user columns compare mean per-user accuracy (Welch standard " +
        "error), raw and CUPED-adjusted.",
      blocks:
        comparisonRows.length > 0
          ? [
              {
                kind: "table",
                table: {
                  columns: [
                    "Comparison",
                    "Δ accuracy",
                    `Newcombe ${level}`,
                    `Wald ${level}`,
                    "z",
                    "p",
                    `Clustered by user ${level}`,
                    "p (clustered)",
                    "Δ per-user (raw)",
                    "Δ per-user (CUPED)",
                    "p (CUPED)",
                  ],
                  rows: comparisonRows,
                },
              },
            ]
          : [{ kind: "text", text: "Only one variant has decisions." }],
    },
    {
      id: "srm",
      title: "Sample-ratio mismatch",
      intro: `Chi-square goodness of fit of users per variant against the configured weights; alarm when p < ${a.srm.alpha}.`,
      blocks: [
        {
          kind: "table",
          table: { columns: ["Variant", "Weight", "Users", "Expected"], rows: srmRows, digits: 1 },
        },
        {
          kind: "keyValues",
          rows: [
            ["χ²", a.srm.chiSquare],
            ["Degrees of freedom", a.srm.df],
            ["p-value", pValueText(a.srm.pValue)],
            ["Alarm", a.srm.alarm ? "YES — the split does not match the weights" : "no"],
          ],
        },
      ],
    },
    {
      id: "cuped",
      title: "CUPED",
      intro:
        `Per-user accuracy Y adjusted with each user's pre-experiment skip rate X: Y − θ (X − mean X), ` +
        `θ = cov(Y, X) / var(X) = ${a.cupedTheta.toFixed(4)} pooled over all users. ` +
        "Users without a pre-experiment rate keep their raw value.",
      blocks: [
        {
          kind: "table",
          table: {
            columns: [
              "Variant",
              "Users",
              "Without covariate",
              "Raw mean",
              "Raw variance",
              "Adjusted mean",
              "Adjusted variance",
              "Variance reduction",
            ],
            rows: cupedRows,
            digits: 4,
          },
        },
      ],
    },
    {
      id: "cache",
      title: "Cache effect per variant",
      intro:
        "Wasted: unplayed tails of tracks predicted PLAY (prefetched) that were skipped. Missed: tracks " +
        "predicted SKIP (not prefetched) that were played to the end. Hours of audio.",
      blocks: [
        {
          kind: "table",
          table: {
            columns: [
              "Variant",
              "Records",
              "Audio (h)",
              "Wasted (h)",
              "Wasted share",
              "Missed (h)",
              "Missed share",
              "Cache-all waste",
              "Waste avoided",
            ],
            rows: cacheRows,
            digits: 2,
          },
        },
      ],
    },
    {
      id: "cost",
      title: "Cost against cache-everything (always-valid)",
      intro:
        `Per listen with feedback, the variant's cost minus what cache-everything would have cost, under the ` +
        `cost model (${describeCostModel(a.costModel)}): 0 for a PLAY decision, +stall for a SKIP decision on a ` +
        "track played out, −waste avoided for a SKIP decision on a skipped track. The fixed-horizon interval " +
        "holds for one look at the end only; the always-valid interval (the asymptotic confidence sequence of " +
        "Waudby-Smith et al.) holds at every listen, so it may be watched while the experiment runs" +
        (planned
          ? ` (tuned for ${listensText(planned.plannedListens)} listens of sd ${planned.plannedSd} cost units).`
          : ".") +
        (detection
          ? ` Listens needed: to detect a saving of ${pct(detection.savingShare)} of cache-everything's cost with ` +
            `${pct(detection.power)} power, at the variant's observed sd.`
          : ""),
      blocks:
        costRows.length > 0
          ? [
              {
                kind: "table",
                table: {
                  columns: [
                    "Variant",
                    "Listens",
                    "Cache-all cost / listen",
                    "Variant cost / listen",
                    "Δ / listen",
                    `Fixed-horizon ${level}`,
                    "p",
                    `Always-valid ${level}`,
                    "Conclusion",
                    "Listens needed (fixed)",
                    "Listens needed (always-valid)",
                  ],
                  rows: costRows,
                  digits: 3,
                },
              },
              {
                kind: "chart",
                name: "cost",
                svg: charts.cost,
                caption:
                  "Running mean of the per-listen cost difference with its always-valid interval; below the dashed 0 line the variant saves.",
              },
            ]
          : [{ kind: "text", text: "No decision has an outcome, a duration and a heard time." }],
    },
    {
      id: "timeline",
      title: "Accuracy over time",
      blocks: [
        {
          kind: "chart",
          name: "timeline",
          svg: charts.timeline,
          caption: "Cumulative accuracy per variant by decision time.",
        },
      ],
    },
  ];
}

/**
 * A few lines for the terminal: accuracy per variant, each comparison, each variant's cost against
 * cache-everything (fixed-horizon and always-valid, with the listens needed), and the SRM check.
 */
export function abtestSummary(a: ExperimentAnalysis): string[] {
  const lines = a.variants.map(
    (v) =>
      `${v.variant} (${v.models.join(", ")}): ${v.users} users, ${v.decisionsWithOutcome} decisions with feedback, ` +
      `accuracy ${withInterval(v.accuracy)}`,
  );
  for (const c of a.comparisons) {
    lines.push(
      `${c.variant} − ${c.control}: ${signed(c.accuracy.difference)} ` +
        `[${signed(c.accuracy.newcombe.lower)}, ${signed(c.accuracy.newcombe.upper)}], p = ${pValueText(c.accuracy.pValue)}`,
    );
  }
  const level = `${Math.round(a.confidence * 100)} %`;
  for (const t of a.costTests) lines.push(...costLines(t, level));
  lines.push(
    `SRM: χ² = ${a.srm.chiSquare.toFixed(2)}, p = ${pValueText(a.srm.pValue)}${a.srm.alarm ? " — ALARM" : ""}`,
  );
  return lines;
}

/** Renders the analysis as a self-contained HTML page and pretty-printed JSON (NaN becomes null). */
export async function abtestReport(
  analysis: ExperimentAnalysis,
  options: ReportOptions = {},
): Promise<{ html: string; json: string }> {
  const charts = await chartsOf(analysis);
  const span =
    Number.isFinite(analysis.firstTs) && Number.isFinite(analysis.lastTs)
      ? `${new Date(analysis.firstTs).toISOString()} – ${new Date(analysis.lastTs).toISOString()}`
      : "no decisions";
  const page: Page = {
    title: `A/B test: ${analysis.experiment || "(unnamed experiment)"}`,
    subtitle: `${analysis.records.toLocaleString("en-US")} decisions, ${span}; control ${analysis.control}`,
    verdict: verdictOf(analysis),
    sections: sectionsOf(analysis, charts),
    generatedAt: options.generatedAt,
    footer: "skipwise abtest analyze",
  };
  return { html: renderHtmlPage(page), json: `${JSON.stringify(analysis, null, 2)}\n` };
}

/** Writes abtest.html and abtest.json into `outDir` atomically. */
export async function writeAbtestReport(
  analysis: ExperimentAnalysis,
  outDir: string,
  options: ReportOptions = {},
): Promise<{ htmlPath: string; jsonPath: string }> {
  const { html, json } = await abtestReport(analysis, options);
  const htmlPath = join(outDir, "abtest.html");
  const jsonPath = join(outDir, "abtest.json");
  await writeFileAtomic(jsonPath, json);
  await writeFileAtomic(htmlPath, html);
  return { htmlPath, jsonPath };
}
