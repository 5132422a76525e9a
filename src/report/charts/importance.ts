import { CHART_CONFIG, type ChartSpec } from "./common.ts";

export interface ImportanceItem {
  name: string;
  value: number;
  /** Drawn as a ±std error bar when given. */
  std?: number;
}

/** Horizontal bars, largest first, limited to the `top` features (default 30). */
export function importanceChart(
  items: readonly ImportanceItem[],
  options: { title?: string; valueTitle?: string; top?: number } = {},
): ChartSpec {
  const top = options.top ?? 30;
  const sorted = items
    .filter((item) => Number.isFinite(item.value))
    .slice()
    .sort((a, b) => b.value - a.value)
    .slice(0, top);
  const values = sorted.map((item, rank) => ({
    feature: item.name,
    rank,
    value: item.value,
    low: item.std === undefined ? item.value : item.value - item.std,
    high: item.std === undefined ? item.value : item.value + item.std,
  }));
  const hasStd = sorted.some((item) => item.std !== undefined && item.std > 0);
  const y = { field: "feature", type: "nominal", sort: null, title: null, axis: { labelLimit: 300 } };
  const layers: object[] = [
    {
      mark: { type: "bar", color: "#4c78a8" },
      encoding: { x: { field: "value", type: "quantitative", title: options.valueTitle ?? "Importance" } },
    },
  ];
  if (hasStd) {
    layers.push({
      mark: { type: "rule", color: "#222" },
      encoding: { x: { field: "low", type: "quantitative" }, x2: { field: "high" } },
    });
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title ?? "Feature importance",
    config: CHART_CONFIG,
    data: { values },
    width: 380,
    height: { step: 16 },
    encoding: { y },
    layer: layers,
  } as ChartSpec;
}
