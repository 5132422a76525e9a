// Shared look and data helpers for the chart builders. Specs are plain Vega-Lite objects with
// inline data; render them with renderVegaLiteSvg (src/report/vega.ts).
import type { TopLevelSpec } from "vega-lite";

export type ChartSpec = TopLevelSpec;

export const CHART_FONT = "Helvetica, Arial, sans-serif";

/** Vega-Lite config applied by every builder: one font, readable sizes, no chart border. */
export const CHART_CONFIG = {
  font: CHART_FONT,
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e6e6e6" },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 360 },
  title: { fontSize: 14, anchor: "start" as const },
} as const;

/** Vega cannot plot NaN or infinities; they become null (a gap / missing cell). */
export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/**
 * Thins a monotone curve to at most about `maxPoints` points, keeping both ends and every point
 * that moves at least 1/maxPoints along either axis (the curve's shape survives; SVG stays small).
 */
export function thinCurve(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  maxPoints = 400,
): Array<[number, number]> {
  if (x.length !== y.length)
    throw new RangeError(`thinCurve: x has ${x.length} points but y has ${y.length}`);
  const out: Array<[number, number]> = [];
  if (x.length === 0) return out;
  const step = 1 / maxPoints;
  let lastX = x[0];
  let lastY = y[0];
  out.push([x[0], y[0]]);
  for (let i = 1; i < x.length - 1; i++) {
    if (Math.abs(x[i] - lastX) >= step || Math.abs(y[i] - lastY) >= step) {
      out.push([x[i], y[i]]);
      lastX = x[i];
      lastY = y[i];
    }
  }
  if (x.length > 1) out.push([x[x.length - 1], y[y.length - 1]]);
  return out;
}

export function formatNumber(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}
