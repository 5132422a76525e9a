import { CHART_CONFIG, type ChartSpec, formatNumber } from "./common.ts";

export interface IntervalItem {
  name: string;
  value: number;
  lower: number;
  upper: number;
}

/** One bar per item with its confidence interval as an error bar (e.g. accuracy per A/B variant). */
export function intervalBarChart(
  items: readonly IntervalItem[],
  options: { title?: string; valueTitle?: string; domain?: [number, number]; digits?: number } = {},
): ChartSpec {
  const digits = options.digits ?? 3;
  const values = items.map((item) => ({
    name: item.name,
    value: item.value,
    lower: item.lower,
    upper: item.upper,
    label: `${formatNumber(item.value, digits)} [${formatNumber(item.lower, digits)}, ${formatNumber(item.upper, digits)}]`,
  }));
  const order = items.map((item) => item.name);
  const yScale = options.domain ? { domain: options.domain } : { zero: true };
  const x = { field: "name", type: "nominal", sort: order, title: null, axis: { labelAngle: 0 } };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title ?? "Value with confidence interval",
    config: CHART_CONFIG,
    data: { values },
    width: { step: 140 },
    height: 300,
    layer: [
      {
        mark: { type: "bar", color: "#4c78a8", opacity: 0.85, clip: true },
        encoding: {
          x,
          y: { field: "value", type: "quantitative", title: options.valueTitle ?? "Value", scale: yScale },
        },
      },
      {
        mark: { type: "rule", color: "#111", strokeWidth: 1.5 },
        encoding: { x, y: { field: "lower", type: "quantitative" }, y2: { field: "upper" } },
      },
      {
        mark: { type: "tick", color: "#111", size: 14 },
        encoding: { x, y: { field: "lower", type: "quantitative" } },
      },
      {
        mark: { type: "tick", color: "#111", size: 14 },
        encoding: { x, y: { field: "upper", type: "quantitative" } },
      },
      {
        mark: { type: "text", dy: -8, fontSize: 10 },
        encoding: { x, y: { field: "upper", type: "quantitative" }, text: { field: "label" } },
      },
    ],
  } as ChartSpec;
}
