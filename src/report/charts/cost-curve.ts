import type { CostCurve } from "../../train/threshold.ts";
import { CHART_CONFIG, type ChartSpec, formatNumber } from "./common.ts";

export interface CostChartOptions {
  title?: string;
  /** The chosen operating point (marked) and, optionally, the 0.5 point for comparison. */
  chosen: { threshold: number; cost: number };
  atHalf?: { threshold: number; cost: number };
}

/**
 * Expected cost per listen against the threshold t (prefetch when P(skip) < t), with the waste and
 * stall rates it trades off, and the chosen point marked.
 */
export function costCurveChart(curve: CostCurve, options: CostChartOptions): ChartSpec {
  const values: Array<{ threshold: number; value: number; series: string }> = [];
  for (let i = 0; i < curve.threshold.length; i++) {
    const t = curve.threshold[i];
    values.push({ threshold: t, value: curve.cost[i], series: "expected cost per listen" });
    values.push({ threshold: t, value: curve.wasteRate[i], series: "waste rate (prefetched, skipped)" });
    values.push({ threshold: t, value: curve.stallRate[i], series: "stall rate (not prefetched, played)" });
  }
  const marks = [
    {
      threshold: options.chosen.threshold,
      value: options.chosen.cost,
      label: `chosen t = ${formatNumber(options.chosen.threshold, 3)}, cost ${formatNumber(options.chosen.cost, 4)}`,
    },
  ];
  if (options.atHalf) {
    marks.push({
      threshold: options.atHalf.threshold,
      value: options.atHalf.cost,
      label: `t = 0.5, cost ${formatNumber(options.atHalf.cost, 4)}`,
    });
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title ?? "Expected cost by threshold",
    config: CHART_CONFIG,
    width: 460,
    height: 300,
    layer: [
      {
        data: { values },
        mark: { type: "line", strokeWidth: 2 },
        encoding: {
          x: {
            field: "threshold",
            type: "quantitative",
            title: "Threshold t (prefetch when P(skip) < t)",
            scale: { domain: [0, 1] },
          },
          y: { field: "value", type: "quantitative", title: "Per listen" },
          color: {
            field: "series",
            type: "nominal",
            title: null,
            scale: { range: ["#1f77b4", "#d62728", "#ff7f0e"] },
            legend: { orient: "bottom", direction: "vertical", labelLimit: 320 },
          },
          strokeDash: {
            field: "series",
            type: "nominal",
            title: null,
            scale: {
              range: [
                [1, 0],
                [4, 3],
                [2, 2],
              ],
            },
          },
        },
      },
      {
        data: { values: marks },
        layer: [
          {
            mark: { type: "point", shape: "diamond", size: 140, filled: true, color: "#111" },
            encoding: {
              x: { field: "threshold", type: "quantitative" },
              y: { field: "value", type: "quantitative" },
            },
          },
          {
            mark: { type: "text", align: "left", dx: 8, dy: -10, fontSize: 11, color: "#111" },
            encoding: {
              x: { field: "threshold", type: "quantitative" },
              y: { field: "value", type: "quantitative" },
              text: { field: "label" },
            },
          },
        ],
      },
    ],
  } as ChartSpec;
}
