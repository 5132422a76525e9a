import type { Confusion } from "../../train/metrics.ts";
import { CHART_CONFIG, type ChartSpec } from "./common.ts";

export interface ConfusionChartOptions {
  title?: string;
  /** Names of label 0 and label 1. */
  labels?: readonly [string, string];
}

/** 2×2 heatmap: actual (rows) × predicted (columns), each cell shows its count and share. */
export function confusionMatrixChart(c: Confusion, options: ConfusionChartOptions = {}): ChartSpec {
  const [neg, pos] = options.labels ?? ["played", "skipped"];
  const total = c.tn + c.fp + c.fn + c.tp;
  const cell = (actual: string, predicted: string, count: number) => ({
    actual,
    predicted,
    count,
    label: `${count}`,
    share: total > 0 ? `${((100 * count) / total).toFixed(1)} %` : "",
  });
  const values = [cell(neg, neg, c.tn), cell(neg, pos, c.fp), cell(pos, neg, c.fn), cell(pos, pos, c.tp)];
  const max = Math.max(c.tn, c.fp, c.fn, c.tp, 1);
  const order = [neg, pos];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title ?? "Confusion matrix",
    config: CHART_CONFIG,
    data: { values },
    width: 220,
    height: 220,
    encoding: {
      x: {
        field: "predicted",
        type: "nominal",
        sort: order,
        title: "Predicted",
        axis: { labelAngle: 0, orient: "top" },
      },
      y: { field: "actual", type: "nominal", sort: order, title: "Actual" },
    },
    layer: [
      {
        mark: { type: "rect", stroke: "white", strokeWidth: 2 },
        encoding: {
          color: {
            field: "count",
            type: "quantitative",
            scale: { scheme: "blues", domain: [0, max] },
            legend: null,
          },
        },
      },
      {
        mark: { type: "text", fontSize: 16, fontWeight: "bold", dy: -8 },
        encoding: {
          text: { field: "label", type: "nominal" },
          color: { condition: { test: `datum.count > ${max / 2}`, value: "white" }, value: "#222" },
        },
      },
      {
        mark: { type: "text", fontSize: 11, dy: 10 },
        encoding: {
          text: { field: "share", type: "nominal" },
          color: { condition: { test: `datum.count > ${max / 2}`, value: "white" }, value: "#444" },
        },
      },
    ],
  };
}
