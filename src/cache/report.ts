// cache.html / cache.json: the wasted-vs-missed frontier, the policy table, the recommended operating
// point for the given costs, the threshold sweep and the bounded device-cache replays.
import { join } from "node:path";
import { type FrontierPoint, frontierChart } from "../report/charts/index.ts";
import { writeFileAtomic } from "../report/files.ts";
import { type Cell, type Page, renderHtmlPage, type Section, type Verdict } from "../report/html.ts";
import { renderVegaLiteSvg } from "../report/vega.ts";
import type { CacheSimulation, PolicyResult } from "./types.ts";

export interface CacheReportOptions {
  /** Footer timestamp; pass one for reproducible output. */
  generatedAt?: string;
  /** Delivery or run described in the subtitle. */
  source?: string;
}

const MB = 1e6;

function pct(x: number, digits = 1): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(digits)} %` : "n/a";
}

function sweepPointName(model: string, threshold: number): string {
  return `${model} @ ${Number(threshold.toFixed(3))}`;
}

function chosenWhen(result: CacheSimulation): string {
  return result.recommendedChosen === "beforehand"
    ? "threshold chosen on the validation period"
    : "threshold chosen in hindsight on this period";
}

function verdictOf(result: CacheSimulation): Verdict {
  const all = result.policies.find((p) => p.kind === "cache-all") as PolicyResult;
  const rec = result.recommended;
  if (!rec) {
    return {
      status: "warn",
      headline: `No model scores given: cache-everything wastes ${pct(all.wastedShare)} of the audio`,
    };
  }
  const captured = rec.oracleSavingsShare;
  return {
    status: captured > 0 ? "pass" : "warn",
    headline:
      `Recommended: ${sweepPointName(rec.model, rec.threshold)} (${chosenWhen(result)}) — wastes ${pct(rec.wastedShare)} of the audio ` +
      `(cache-everything ${pct(all.wastedShare)}, oracle 0 %), misses ${pct(rec.missedShare)} of fully played audio ` +
      `(${rec.stalls.toLocaleString("en-US")} stalls), captures ${pct(captured)} of the oracle's savings`,
    details: [
      `Costs: ${result.costs.perWastedMB} per wasted MB, ${result.costs.perStall} per stall; bitrate ${(result.bitrateBytesPerSecond * 8) / 1000} kbit/s.`,
      ...result.bestPerModel.map(
        (b) =>
          `${b.model}: lowest-cost threshold on this period (hindsight) ${b.threshold}, cost ${b.cost.toFixed(1)}, wasted ${pct(b.wastedShare)}, missed ${pct(b.missedShare)}, oracle savings ${pct(b.oracleSavingsShare)}`,
      ),
    ],
  };
}

function frontierPoints(result: CacheSimulation): FrontierPoint[] {
  const singles: FrontierPoint[] = result.policies
    .filter((p) => p.kind !== "model")
    .map((p) => ({ policy: p.name, wasted: p.wastedShare, missed: p.missedShare }));
  const sweeps: FrontierPoint[] = result.sweep.map((p) => ({
    policy: sweepPointName(p.model, p.threshold),
    wasted: p.wastedShare,
    missed: p.missedShare,
    group: p.model,
  }));
  return [...sweeps, ...singles];
}

function policyRows(result: CacheSimulation): Cell[][] {
  return result.policies.map((p) => [
    p.name,
    p.downloadedBytes / MB,
    p.wastedBytes / MB,
    pct(p.wastedShare),
    p.neverFetchedBytes / MB,
    pct(p.hitRate),
    p.stalls,
    pct(p.missedShare),
    pct(p.oracleSavingsShare),
    p.cost,
  ]);
}

/** The sweep thinned to every 0.05 plus each model's best point, for the table. */
function sweepRows(result: CacheSimulation): Cell[][] {
  const best = new Set(result.bestPerModel.map((b) => sweepPointName(b.model, b.threshold)));
  return result.sweep
    .filter(
      (p) =>
        Math.abs(p.threshold * 20 - Math.round(p.threshold * 20)) < 1e-9 ||
        best.has(sweepPointName(p.model, p.threshold)),
    )
    .map((p) => [
      p.model,
      p.threshold,
      pct(p.wastedShare),
      pct(p.missedShare),
      p.stalls,
      pct(p.hitRate),
      pct(p.oracleSavingsShare),
      p.cost,
      best.has(sweepPointName(p.model, p.threshold)) ? "best" : p.onFrontier ? "frontier" : "",
    ]);
}

function sectionsOf(result: CacheSimulation, frontierSvg: string): Section[] {
  const sweep = sweepRows(result);
  const sections: Section[] = [
    {
      id: "frontier",
      title: "Wasted vs missed audio",
      intro:
        "Each model's threshold sweep is a line (the client prefetches a track whole when P(skip) is below the " +
        "threshold); fixed policies are squares. Lower-left is better; the oracle sits at the origin.",
      blocks: [
        {
          kind: "chart",
          name: "frontier",
          svg: frontierSvg,
          caption: "Wasted share of all audio vs missed share of fully played audio.",
        },
      ],
    },
    {
      id: "policies",
      title: "Policies",
      intro:
        "Every byte of every track is exactly one of: played, wasted (downloaded, never played) or never fetched. " +
        "Hit rate = share of fully played tracks that were prefetched whole. A stall = a full play whose audio " +
        "was not all prefetched (playback ran past the prefetched part and had to stream). Oracle savings = " +
        "(waste(cache-all) − waste) / (waste(cache-all) − waste(oracle)).",
      blocks: [
        {
          kind: "table",
          table: {
            columns: [
              "Policy",
              "Downloaded (MB)",
              "Wasted (MB)",
              "Wasted share",
              "Never fetched (MB)",
              "Hit rate",
              "Stalls",
              "Missed share",
              "Oracle savings",
              "Cost",
            ],
            rows: policyRows(result),
            digits: 1,
          },
        },
      ],
    },
  ];
  if (sweep.length > 0) {
    sections.push({
      id: "sweep",
      title: "Threshold sweep",
      intro: `Cost = ${result.costs.perWastedMB} × wasted MB + ${result.costs.perStall} × stalls. Rows every 0.05 and at each model's best threshold.`,
      blocks: [
        {
          kind: "table",
          table: {
            columns: [
              "Model",
              "Threshold",
              "Wasted share",
              "Missed share",
              "Stalls",
              "Hit rate",
              "Oracle savings",
              "Cost",
              "",
            ],
            rows: sweep,
            digits: 2,
            highlightRows: sweep.flatMap((row, i) => (row[8] === "best" ? [i] : [])),
          },
        },
      ],
    });
  }
  if (result.device.length > 0) {
    sections.push({
      id: "device",
      title: "Bounded on-device cache",
      intro:
        "Each user's device keeps one cache of the given capacity across sessions. A miss is downloaded whole " +
        "into the cache when admitted (skip-aware admission refuses tracks predicted to be skipped) and " +
        "streamed otherwise. Wasted = bytes of cached copies never heard while cached.",
      blocks: [
        {
          kind: "table",
          table: {
            columns: [
              "Policy",
              "Admission",
              "Capacity (MB)",
              "Hit ratio",
              "Byte hit ratio",
              "Downloaded (MB)",
              "Wasted (MB)",
              "Evictions",
            ],
            rows: result.device.map((d) => [
              d.policy,
              d.admission,
              d.capacityBytes / MB,
              pct(d.hitRatio),
              pct(d.byteHitRatio),
              d.downloadedBytes / MB,
              d.wastedBytes / MB,
              d.evictions,
            ]),
            digits: 1,
          },
        },
      ],
    });
  }
  return sections;
}

/** A few lines for the terminal: cache-everything, the oracle and the recommended operating point. */
export function cacheSummary(result: CacheSimulation): string[] {
  const all = result.policies.find((p) => p.kind === "cache-all") as PolicyResult;
  const lines = [
    `cache everything: wasted ${pct(all.wastedShare)} of ${(all.totalBytes / MB).toFixed(0)} MB, missed 0 %`,
    "oracle: wasted 0 %, missed 0 %",
  ];
  const rec = result.recommended;
  if (rec) {
    lines.push(
      `recommended ${sweepPointName(rec.model, rec.threshold)} (${chosenWhen(result)}): wasted ${pct(rec.wastedShare)}, missed ${pct(rec.missedShare)} ` +
        `(${rec.stalls} stalls), ${pct(rec.oracleSavingsShare)} of the oracle's savings`,
    );
  }
  return lines;
}

/** Renders a simulation as a self-contained HTML page and pretty-printed JSON (NaN becomes null). */
export async function cacheReport(
  result: CacheSimulation,
  options: CacheReportOptions = {},
): Promise<{ html: string; json: string }> {
  const recommended = result.recommended
    ? sweepPointName(result.recommended.model, result.recommended.threshold)
    : undefined;
  const frontierSvg = await renderVegaLiteSvg(
    frontierChart(frontierPoints(result), {
      title: "Wasted vs missed audio by policy",
      wastedTitle: "Wasted audio (share of all audio)",
      missedTitle: "Missed audio (share of fully played audio)",
      recommended,
    }),
  );
  const page: Page = {
    title: "Cache simulation",
    subtitle: `${result.listens.toLocaleString("en-US")} listens${options.source ? ` from ${options.source}` : ""}`,
    verdict: verdictOf(result),
    sections: sectionsOf(result, frontierSvg),
    generatedAt: options.generatedAt,
    footer: "skipwise cache simulate",
  };
  return { html: renderHtmlPage(page), json: `${JSON.stringify(result, null, 2)}\n` };
}

/** Writes cache.html and cache.json into `outDir` atomically. */
export async function writeCacheReport(
  result: CacheSimulation,
  outDir: string,
  options: CacheReportOptions = {},
): Promise<{ htmlPath: string; jsonPath: string }> {
  const { html, json } = await cacheReport(result, options);
  const htmlPath = join(outDir, "cache.html");
  const jsonPath = join(outDir, "cache.json");
  await writeFileAtomic(jsonPath, json);
  await writeFileAtomic(htmlPath, html);
  return { htmlPath, jsonPath };
}
