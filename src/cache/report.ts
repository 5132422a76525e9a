// cache.html / cache.json: the recommended policy (chosen before the replayed period) and what it really
// did, every policy's net saving over caching everything with its user-bootstrap interval, the
// wasted-vs-missed frontier, the threshold sweep and the bounded device-cache replays.

import { join } from "node:path";
import { writeFileAtomic } from "../base/atomic-write.ts";
import { percent as pct } from "../base/format.ts";
import { describeCostModel } from "../listens/cost-model.ts";
import { type FrontierPoint, frontierChart } from "../report/charts/index.ts";
import { type Cell, type Page, renderHtmlPage, type Section, type Verdict } from "../report/html.ts";
import { renderVegaLiteSvg } from "../report/vega.ts";
import { fmtCost } from "../train/policy-choice.ts";
import type { CacheSimulation, PolicyResult } from "./types.ts";

export interface CacheReportOptions {
  /** Footer timestamp; pass one for reproducible output. */
  generatedAt?: string;
  /** Delivery or run described in the subtitle. */
  source?: string;
}

const MB = 1e6;

function sweepPointName(model: string, threshold: number): string {
  return `${model} @ ${Number(threshold.toFixed(3))}`;
}

function ciText(ci: { lower: number; upper: number }): string {
  return `${fmtCost(ci.lower)} to ${fmtCost(ci.upper)}`;
}

/** "saves 12.3 (4.5 % of what the oracle saves) more than caching everything" / "costs 8.0 more than …". */
export function savingWords(p: PolicyResult): string {
  if (p.kind === "cache-all") return "the reference: net saving 0 by definition";
  if (p.saving > 0)
    return `saves ${fmtCost(p.saving)} (${pct(p.share)} of what the oracle saves) more than caching everything`;
  if (p.saving < 0) return `costs ${fmtCost(-p.saving)} more than caching everything (share ${pct(p.share)})`;
  return "costs the same as caching everything";
}

/** Does the interval say anything? "interval excludes 0" / "interval contains 0". */
function intervalWords(p: PolicyResult): string {
  if (!(Number.isFinite(p.savingCi.lower) && Number.isFinite(p.savingCi.upper))) return "no interval";
  if (p.savingCi.lower > 0) return "interval above 0";
  if (p.savingCi.upper < 0) return "interval below 0";
  return "interval contains 0";
}

/** The policies with the recommended one first (its order otherwise kept). */
function ordered(result: CacheSimulation): PolicyResult[] {
  const rec = result.recommended;
  return rec ? [rec, ...result.policies.filter((p) => p !== rec)] : [...result.policies];
}

function recommendationName(result: CacheSimulation): string {
  const r = result.recommendation;
  if (!r) return "";
  if (r.kind === "cache-all") return "cache everything (prefetch every track)";
  if (r.kind === "cache-nothing") return "cache nothing (stream every track)";
  return `${r.model} @ ${Number((r.threshold ?? 0).toFixed(3))} (prefetch when P(skip) is below the threshold)`;
}

/** What the recommendation really did on this period, in words. */
export function recommendationOutcome(result: CacheSimulation): string {
  const rec = result.recommended;
  const r = result.recommendation;
  if (!rec || !r) return "";
  const interval = `${Math.round(result.interval.level * 100)} % CI ${ciText(rec.savingCi)}, ${result.interval.method}`;
  if (r.kind === "cache-all") {
    const models = result.policies.filter((p) => p.kind === "model" || p.kind === "genre-rule");
    const best = models.reduce<PolicyResult | undefined>(
      (a, b) => (!a || b.saving > a.saving ? b : a),
      undefined,
    );
    return (
      "On this period the recommendation is caching everything itself (net saving 0 by definition)" +
      (best
        ? `; the best model at its validation threshold, ${best.name}, ${savingWords(best)} (${Math.round(result.interval.level * 100)} % CI ${ciText(best.savingCi)}).`
        : ".")
    );
  }
  if (rec.saving > 0) return `On this period ${rec.name} ${savingWords(rec)} (${interval}).`;
  return `The validation choice cost ${fmtCost(-rec.saving)} more than caching everything on this period (${rec.name}, share ${pct(rec.share)}; ${interval}).`;
}

function verdictOf(result: CacheSimulation): Verdict {
  const all = result.policies.find((p) => p.kind === "cache-all") as PolicyResult;
  const r = result.recommendation;
  const rec = result.recommended;
  const costs = `Cost model: ${describeCostModel(result.costModel)}. Net saving = cost(cache everything) − cost(policy); share = saving / (cost(cache everything) − cost(oracle)); ${Math.round(result.interval.level * 100)} % intervals from a ${result.interval.method} (${result.interval.replicates} replicates, ${result.users} users).`;
  if (!r || !rec) {
    return {
      status: "warn",
      headline: `No policy was chosen beforehand: every policy is reported against caching everything, which wastes ${pct(all.wastedShare)} of the audio`,
      details: [costs],
    };
  }
  const status = r.kind === "cache-all" ? "warn" : rec.saving > 0 ? "pass" : "fail";
  return {
    status,
    headline: `Recommended (chosen on the validation period, before this period): ${recommendationName(result)}. ${recommendationOutcome(result)}`,
    details: [
      `Why: ${r.reason}.`,
      costs,
      ...result.bestPerModel.map(
        (b) =>
          `${b.model}: lowest-cost threshold on this very period (hindsight, not a recommendation) ${b.threshold}, net saving ${fmtCost(b.saving)} (${pct(b.share)})`,
      ),
    ],
  };
}

function frontierPoints(result: CacheSimulation): FrontierPoint[] {
  const singles: FrontierPoint[] = result.policies
    .filter((p) => p.kind !== "model" || p === result.recommended)
    .map((p) => ({ policy: p.name, wasted: p.wastedShare, missed: p.missedShare }));
  const sweeps: FrontierPoint[] = result.sweep.map((p) => ({
    policy: sweepPointName(p.model, p.threshold),
    wasted: p.wastedShare,
    missed: p.missedShare,
    group: p.model,
  }));
  return [...sweeps, ...singles];
}

function policyRows(policies: readonly PolicyResult[]): Cell[][] {
  return policies.map((p) => [
    p.name,
    p.saving,
    pct(p.share),
    ciText(p.savingCi),
    intervalWords(p),
    savingWords(p),
    p.cost,
    p.wasteAvoidedBytes / MB,
    pct(p.wastedShare),
    p.stalls,
    p.missedBytes / MB,
    pct(p.missedShare),
    p.downloadedBytes / MB,
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
      p.saving,
      pct(p.share),
      best.has(sweepPointName(p.model, p.threshold)) ? "hindsight best" : p.onFrontier ? "frontier" : "",
    ]);
}

function sectionsOf(result: CacheSimulation, frontierSvg: string): Section[] {
  const sweep = sweepRows(result);
  const policies = ordered(result);
  const level = Math.round(result.interval.level * 100);
  const sections: Section[] = [
    {
      id: "policies",
      title: "Net saving of every policy over caching everything",
      intro:
        `Net saving = cost(cache everything) − cost(policy) under the cost model (${describeCostModel(result.costModel)}); ` +
        "share = saving / (cost(cache everything) − cost(oracle)). A negative saving means the policy costs more than " +
        `caching everything. ${level} % interval: ${result.interval.method} (users resampled with replacement, ` +
        `${result.interval.replicates} replicates, ${result.users} users). Each model runs at the threshold chosen on the ` +
        "validation period. Waste avoided = MB that caching everything downloads for nothing and this policy does not; " +
        "a stall = a full play whose audio was not all prefetched; missed = audio of full plays that had to stream." +
        (result.recommended ? " The recommended policy is the first, highlighted row." : ""),
      blocks: [
        {
          kind: "table",
          table: {
            columns: [
              "Policy",
              "Net saving",
              "Share of oracle's saving",
              `${level} % CI of net saving`,
              "Interval",
              "In words",
              "Cost",
              "Waste avoided (MB)",
              "Wasted share",
              "Stalls",
              "Missed (MB)",
              "Missed share",
              "Downloaded (MB)",
            ],
            rows: policyRows(policies),
            digits: 1,
            highlightRows: result.recommended ? [0] : [],
          },
        },
      ],
    },
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
  ];
  if (sweep.length > 0) {
    sections.push({
      id: "sweep",
      title: "Threshold sweep",
      intro: `Secondary material. Cost = ${result.costModel.wastePerMb} × wasted MB + ${result.costModel.stall} × stalls; net saving against caching everything. Rows every 0.05 and at each model's lowest-cost threshold on this very period ("hindsight": chosen after the fact, never the recommendation).`,
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
              "Net saving",
              "Share",
              "",
            ],
            rows: sweep,
            digits: 2,
            highlightRows: sweep.flatMap((row, i) => (row[8] === "hindsight best" ? [i] : [])),
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

/** The terminal summary: the recommendation, what it did, and every policy's net saving (recommended first). */
export function cacheSummary(result: CacheSimulation): string[] {
  const all = result.policies.find((p) => p.kind === "cache-all") as PolicyResult;
  const level = Math.round(result.interval.level * 100);
  const lines: string[] = [];
  if (result.recommendation && result.recommended) {
    lines.push(
      `recommended (chosen on the validation period, before this period): ${recommendationName(result)}`,
      `  why: ${result.recommendation.reason}`,
      `  ${recommendationOutcome(result)}`,
    );
  } else {
    lines.push("no policy was chosen beforehand: every policy is reported, none recommended");
  }
  lines.push(
    `cache everything wastes ${pct(all.wastedShare)} of ${(all.totalBytes / MB).toFixed(0)} MB; cost model ${describeCostModel(result.costModel)}`,
    `net saving over cache everything on this period (${level} % CI, ${result.interval.method}, ${result.users} users):`,
  );
  for (const p of ordered(result)) {
    const mark = p === result.recommended ? "*" : " ";
    lines.push(
      ` ${mark} ${p.name.padEnd(30)} ${fmtCost(p.saving).padStart(10)}  share ${pct(p.share).padStart(8)}  ` +
        `CI ${ciText(p.savingCi).padEnd(22)} waste avoided ${(p.wasteAvoidedBytes / MB).toFixed(0).padStart(6)} MB, ` +
        `${String(p.stalls).padStart(5)} stalls — ${p.kind === "cache-all" ? "the reference" : p.saving > 0 ? "saves" : p.saving < 0 ? "costs more than caching everything" : "no difference"}`,
    );
  }
  return lines;
}

/** Renders a simulation as a self-contained HTML page and pretty-printed JSON (NaN becomes null). */
export async function cacheReport(
  result: CacheSimulation,
  options: CacheReportOptions = {},
): Promise<{ html: string; json: string }> {
  const recommended = result.recommended?.name;
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
