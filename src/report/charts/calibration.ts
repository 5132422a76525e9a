import type { CalibrationBin } from "../../train/metrics.ts";
import { CHART_CONFIG, type ChartSpec } from "./common.ts";

export interface CalibrationSeries {
  name: string;
  bins: readonly CalibrationBin[];
}

/** Reliability diagram: observed share of skips against mean predicted P(skip) per bin. */
export function calibrationChart(
  series: readonly CalibrationSeries[],
  options: { title?: string } = {},
): ChartSpec {
  const values = series.flatMap((s) =>
    s.bins
      .filter((b) => b.count > 0)
      .map((b) => ({
        model: s.name,
        predicted: b.meanPredicted,
        observed: b.fractionPositive,
        rows: b.count,
      })),
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title ?? "Calibration (reliability diagram)",
    config: CHART_CONFIG,
    width: 360,
    height: 360,
    layer: [
      {
        data: {
          values: [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
          ],
        },
        mark: { type: "line", strokeDash: [4, 4], color: "#999" },
        encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
      },
      {
        data: { values },
        encoding: {
          x: {
            field: "predicted",
            type: "quantitative",
            title: "Mean predicted P(skip)",
            scale: { domain: [0, 1] },
          },
          y: {
            field: "observed",
            type: "quantitative",
            title: "Observed share of skips",
            scale: { domain: [0, 1] },
          },
          color: {
            field: "model",
            type: "nominal",
            title: "Model",
            legend: { orient: "top-left", direction: "vertical" },
          },
        },
        layer: [
          { mark: { type: "line", strokeWidth: 1.5 } },
          {
            mark: { type: "point", filled: true, opacity: 0.8 },
            encoding: { size: { field: "rows", type: "quantitative", title: "Rows in bin", legend: null } },
          },
        ],
      },
    ],
  };
}
