import { CHART_CONFIG, type ChartSpec, finiteOrNull } from "./common.ts";

/**
 * Heatmap of a row-major k × k correlation matrix. Cell size shrinks with k so 60 features stay
 * readable (about 11 px cells, 9 px labels); values are printed in the cells when k <= 12.
 */
export function correlationHeatmapChart(
  names: readonly string[],
  matrix: ArrayLike<number>,
  options: { title?: string } = {},
): ChartSpec {
  const k = names.length;
  if (matrix.length !== k * k) {
    throw new RangeError(`correlationHeatmapChart: ${k} names need ${k * k} values, got ${matrix.length}`);
  }
  const values: Array<{ a: string; b: string; r: number | null; ia: number; ib: number; text: string }> = [];
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const r = finiteOrNull(matrix[i * k + j]);
      values.push({ a: names[i], b: names[j], r, ia: i, ib: j, text: r === null ? "" : r.toFixed(2) });
    }
  }
  const step = k <= 12 ? 36 : k <= 30 ? 18 : 12;
  const labelSize = k <= 30 ? 11 : 9;
  const layers: object[] = [
    {
      mark: { type: "rect" },
      encoding: {
        color: {
          field: "r",
          type: "quantitative",
          title: "Pearson r",
          scale: { scheme: "redblue", domain: [-1, 1], reverse: true },
          legend: { orient: "right", gradientLength: Math.min(240, step * k) },
        },
      },
    },
  ];
  if (k <= 12) {
    layers.push({
      mark: { type: "text", fontSize: 10 },
      encoding: {
        text: { field: "text" },
        color: {
          condition: { test: "datum.r !== null && abs(datum.r) > 0.6", value: "white" },
          value: "#222",
        },
      },
    });
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title ?? "Feature correlation (Pearson)",
    config: CHART_CONFIG,
    data: { values },
    width: { step },
    height: { step },
    encoding: {
      x: {
        field: "b",
        type: "nominal",
        sort: { field: "ib", order: "ascending" },
        title: null,
        axis: { labelAngle: -60, labelFontSize: labelSize, labelLimit: 280, orient: "top" },
      },
      y: {
        field: "a",
        type: "nominal",
        sort: { field: "ia", order: "ascending" },
        title: null,
        axis: { labelFontSize: labelSize, labelLimit: 280 },
      },
    },
    layer: layers,
  } as ChartSpec;
}
