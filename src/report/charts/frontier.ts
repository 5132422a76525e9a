import { CHART_CONFIG, type ChartSpec, formatNumber } from "./common.ts";

export interface FrontierPoint {
  policy: string;
  /** Share (or amount) of audio downloaded and never played. */
  wasted: number;
  /** Share (or amount) of fully played audio that was not prefetched. */
  missed: number;
  /** Points sharing a group (e.g. one model's threshold sweep) are joined by a line. */
  group?: string;
}

/**
 * Wasted vs missed audio per cache policy: sweeps as lines, single policies as labelled points, and
 * the recommended policy highlighted.
 */
export function frontierChart(
  points: readonly FrontierPoint[],
  options: {
    title?: string;
    wastedTitle?: string;
    missedTitle?: string;
    recommended?: string;
    asPercent?: boolean;
  } = {},
): ChartSpec {
  const format = (options.asPercent ?? true) ? ".0%" : ",.3~g";
  const sweeps = points
    .filter((p) => p.group !== undefined)
    .map((p) => ({ group: p.group as string, policy: p.policy, wasted: p.wasted, missed: p.missed }));
  const singles = points
    .filter((p) => p.group === undefined)
    .map((p) => ({ policy: p.policy, wasted: p.wasted, missed: p.missed }));
  const recommended = points
    .filter((p) => p.policy === options.recommended)
    .map((p) => ({
      policy: p.policy,
      wasted: p.wasted,
      missed: p.missed,
      label: `recommended: ${p.policy} (wasted ${formatNumber(p.wasted, 3)}, missed ${formatNumber(p.missed, 3)})`,
    }));
  const x = {
    field: "wasted",
    type: "quantitative",
    title: options.wastedTitle ?? "Wasted audio (downloaded, never played)",
    axis: { format },
  };
  const y = {
    field: "missed",
    type: "quantitative",
    title: options.missedTitle ?? "Missed audio (played, not prefetched)",
    axis: { format },
  };
  const layers: object[] = [];
  if (sweeps.length > 0) {
    layers.push({
      data: { values: sweeps },
      mark: { type: "line", point: { size: 20 }, strokeWidth: 1.5 },
      encoding: {
        x,
        y,
        color: { field: "group", type: "nominal", title: "Threshold sweep" },
        order: { field: "wasted", type: "quantitative" },
      },
    });
  }
  if (singles.length > 0) {
    layers.push({
      data: { values: singles },
      layer: [
        {
          mark: { type: "point", filled: true, size: 70, color: "#333", shape: "square" },
          encoding: { x, y },
        },
        {
          mark: { type: "text", align: "left", dx: 7, dy: -7, fontSize: 11 },
          encoding: { x, y, text: { field: "policy" } },
        },
      ],
    });
  }
  if (recommended.length > 0) {
    layers.push({
      data: { values: recommended },
      layer: [
        {
          mark: {
            type: "point",
            shape: "diamond",
            size: 220,
            filled: false,
            strokeWidth: 2.5,
            color: "#d62728",
          },
          encoding: { x, y },
        },
        {
          mark: { type: "text", align: "left", dx: 10, dy: 14, fontSize: 11, color: "#d62728" },
          encoding: { x, y, text: { field: "label" } },
        },
      ],
    });
  }
  if (layers.length === 0) throw new RangeError("frontierChart: no points");
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title ?? "Wasted vs missed audio by policy",
    config: CHART_CONFIG,
    width: 460,
    height: 340,
    layer: layers,
  } as ChartSpec;
}
