import { CHART_CONFIG, type ChartSpec, finiteOrNull } from "./common.ts";

export interface TimeSeries {
  name: string;
  /** `time` as epoch milliseconds, a Date, or an ISO 8601 string. */
  points: ReadonlyArray<{ time: number | Date | string; value: number }>;
}

function epochMs(time: number | Date | string): number {
  const ms = typeof time === "number" ? time : typeof time === "string" ? Date.parse(time) : time.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`timeSeriesChart: invalid time ${String(time)}`);
  return ms;
}

/** Lines over time, one per series (e.g. cumulative accuracy per A/B variant). */
export function timeSeriesChart(
  series: readonly TimeSeries[],
  options: { title?: string; valueTitle?: string; timeTitle?: string; domain?: [number, number] } = {},
): ChartSpec {
  const values = series.flatMap((s) =>
    s.points.map((point) => ({
      series: s.name,
      time: epochMs(point.time),
      value: finiteOrNull(point.value),
    })),
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title ?? "Over time",
    config: CHART_CONFIG,
    data: { values },
    width: 520,
    height: 280,
    mark: { type: "line", strokeWidth: 2 },
    encoding: {
      x: {
        field: "time",
        type: "temporal",
        title: options.timeTitle ?? "Time (UTC)",
        scale: { type: "utc" },
      },
      y: {
        field: "value",
        type: "quantitative",
        title: options.valueTitle ?? "Value",
        scale: options.domain ? { domain: options.domain } : { zero: false },
      },
      color: { field: "series", type: "nominal", title: null, legend: { orient: "bottom" } },
    },
  } as ChartSpec;
}
