import { CHART_CONFIG, type ChartSpec, formatNumber, thinCurve } from "./common.ts";

export interface RocSeries {
  name: string;
  fpr: ArrayLike<number>;
  tpr: ArrayLike<number>;
  /** Shown in the legend when given. */
  auc?: number;
}

/** ROC curves of several models overlaid, with the chance diagonal. */
export function rocChart(series: readonly RocSeries[], options: { title?: string } = {}): ChartSpec {
  const values: Array<{ model: string; fpr: number; tpr: number; order: number }> = [];
  for (const s of series) {
    const model = s.auc === undefined ? s.name : `${s.name} (AUC ${formatNumber(s.auc)})`;
    thinCurve(s.fpr, s.tpr).forEach(([fpr, tpr], order) => {
      values.push({ model, fpr, tpr, order });
    });
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title ?? "ROC curves",
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
        encoding: {
          x: { field: "x", type: "quantitative" },
          y: { field: "y", type: "quantitative" },
        },
      },
      {
        data: { values },
        mark: { type: "line", strokeWidth: 2 },
        encoding: {
          x: { field: "fpr", type: "quantitative", title: "False positive rate", scale: { domain: [0, 1] } },
          y: {
            field: "tpr",
            type: "quantitative",
            title: "True positive rate (recall of skips)",
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
    ],
  };
}
