import { CHART_CONFIG, type ChartSpec, formatNumber, thinCurve } from "./common.ts";

export interface PrSeries {
  name: string;
  recall: ArrayLike<number>;
  precision: ArrayLike<number>;
  /** Average precision, shown in the legend when given. */
  ap?: number;
}

/** Precision–recall curves overlaid; `prevalence` (share of skips) draws the no-skill line. */
export function prChart(
  series: readonly PrSeries[],
  options: { title?: string; prevalence?: number } = {},
): ChartSpec {
  const values: Array<{ model: string; recall: number; precision: number; order: number }> = [];
  for (const s of series) {
    const model = s.ap === undefined ? s.name : `${s.name} (AP ${formatNumber(s.ap)})`;
    thinCurve(s.recall, s.precision).forEach(([recall, precision], order) => {
      values.push({ model, recall, precision, order });
    });
  }
  const layers: object[] = [
    {
      data: { values },
      mark: { type: "line", strokeWidth: 2, interpolate: "step-after" },
      encoding: {
        x: { field: "recall", type: "quantitative", title: "Recall (skips)", scale: { domain: [0, 1] } },
        y: {
          field: "precision",
          type: "quantitative",
          title: "Precision (skips)",
          scale: { domain: [0, 1] },
        },
        color: {
          field: "model",
          type: "nominal",
          title: "Model",
          legend: { orient: "right", direction: "vertical" },
        },
        order: { field: "order", type: "quantitative" },
      },
    },
  ];
  if (options.prevalence !== undefined && Number.isFinite(options.prevalence)) {
    layers.unshift({
      data: {
        values: [{ y: options.prevalence, label: `share of skips ${formatNumber(options.prevalence)}` }],
      },
      layer: [
        {
          mark: { type: "rule", strokeDash: [4, 4], color: "#999" },
          encoding: { y: { field: "y", type: "quantitative" } },
        },
        {
          mark: { type: "text", align: "right", dy: -6, color: "#666", x: "width" },
          encoding: { y: { field: "y", type: "quantitative" }, text: { field: "label" } },
        },
      ],
    });
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title ?? "Precision–recall curves",
    config: CHART_CONFIG,
    width: 360,
    height: 360,
    layer: layers,
  } as ChartSpec;
}
