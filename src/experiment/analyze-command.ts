// `skipwise abtest analyze`: the service's decision log (decisions joined with feedback) → the A/B
// statistics (fixed-horizon accuracy tests, SRM, CUPED, and each variant's cost against cache-everything
// with its always-valid interval) → abtest.html + abtest.json and a terminal summary.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { redactedUrl } from "../base/format.ts";
import { type CostFlags, costModelFromFlags, describeCostModel } from "../listens/cost-model.ts";
import type { ListenTable } from "../listens/types.ts";
import { GENRE_RULE_MODEL } from "../models/registry.ts";
import { collectDecisionRecords, type LoggedDecisionRecord, toAnalysisRecord } from "../serve/log-export.ts";
import { isPostgresUrl } from "../serve/postgres-decision-log.ts";
import { analyzeExperiment } from "./analyze.ts";
import { defaultReplayStart, parseFromTime } from "./replay.ts";
import { abtestSummary, writeAbtestReport } from "./report.ts";
import type { AnalyzeOptions, DecisionRecord, ExperimentAnalysis } from "./types.ts";

export interface AnalyzeCommandOptions extends CostFlags {
  /** The decision log: a SQLite file, or a postgres:// URL (the log replicas share). */
  log: string;
  /** Delivery the replayed listens came from: fills each user's pre-experiment skip rate (CUPED). */
  data?: string;
  out?: string;
  /**
   * Default: the genre rule's variant (GENRE_RULE_MODEL, "naive") when the log holds it (the service's
   * default experiment), else analyzeExperiment's default.
   */
  control?: string;
  /** ISO time the experiment started in the delivery's clock (default: see `preExperimentCutoff`). */
  from?: string;
  /** The service's experiment config JSON: its name selects the records, its weights are the SRM expectation. */
  experiment?: string;
  stdout?: NodeJS.WritableStream;
}

export interface CovariateFill {
  cutoffMs: number;
  /** How the cutoff was chosen, for the terminal. */
  cutoffSource: string;
  /** Users with at least one listen before the cutoff. */
  usersWithHistory: number;
}

/** Skip rate of every user over the listens that started before `cutoffMs`. */
export function preSkipRates(listens: ListenTable, cutoffMs: number): Map<number, number> {
  const counts = new Map<number, { n: number; skips: number }>();
  for (let i = 0; i < listens.length; i++) {
    if (!(listens.startMs[i] < cutoffMs)) continue;
    const user = listens.userId[i];
    let c = counts.get(user);
    if (!c) {
      c = { n: 0, skips: 0 };
      counts.set(user, c);
    }
    c.n++;
    c.skips += listens.skipped[i];
  }
  return new Map([...counts].map(([user, c]) => [user, c.skips / c.n]));
}

/**
 * When the experiment started in the delivery's clock. The log's decision times are the service's wall
 * clock: for a live experiment they fall inside the delivery and the first decision is the start; for an
 * offline replay they lie after every listen, so the replay's default start (the test period) is used.
 */
export function preExperimentCutoff(
  records: readonly DecisionRecord[],
  listens: ListenTable,
  explicitMs?: number,
): { cutoffMs: number; source: string } {
  if (explicitMs !== undefined) return { cutoffMs: explicitMs, source: "--from" };
  let first = Number.POSITIVE_INFINITY;
  for (const r of records) if (r.ts < first) first = r.ts;
  const lastListen = listens.length > 0 ? listens.startMs[listens.length - 1] : Number.NEGATIVE_INFINITY;
  if (Number.isFinite(first) && first <= lastListen)
    return { cutoffMs: first, source: "first logged decision" };
  return {
    cutoffMs: defaultReplayStart(listens),
    source: "test-period start (decisions postdate the delivery: a replay)",
  };
}

/** Sets `preSkipRate` on every record whose user listened before the cutoff. */
export function fillPreSkipRates(records: DecisionRecord[], rates: Map<number, number>): void {
  for (const r of records) {
    const rate = rates.get(r.userId);
    if (rate !== undefined) r.preSkipRate = rate;
  }
}

/** The A/B analysis row of a logged decision (served decisions of an experiment). */
export function toDecisionRecord(r: LoggedDecisionRecord): DecisionRecord {
  return toAnalysisRecord(r, r.experiment ?? "", r.variant ?? "");
}

/**
 * A replay's decisions are logged at the wall-clock time of the replay (seconds apart), which says nothing
 * about when the listens happened. When every decision carries its listen's session and position (the
 * /v1/predict route with session context) and the log postdates the delivery, each decision takes its
 * listen's start time instead, so the timeline and the CUPED cutoff are in the delivery's clock. Returns
 * whether it did.
 */
export function useListenTimes(
  records: DecisionRecord[],
  logged: readonly LoggedDecisionRecord[],
  listens: ListenTable,
): boolean {
  if (records.length === 0 || listens.length === 0) return false;
  const lastListen = listens.startMs[listens.length - 1];
  if (logged.some((r) => r.tsMs <= lastListen)) return false; // a live experiment: its clock is right
  const start = new Map<string, number>();
  for (let i = 0; i < listens.length; i++) {
    start.set(`${listens.userId[i]}/${listens.sessionId[i]}/${listens.position[i]}`, listens.startMs[i]);
  }
  const times = new Float64Array(logged.length);
  for (let k = 0; k < logged.length; k++) {
    const r = logged[k];
    const t = start.get(`${r.userId}/${r.sessionId}/${r.position}`);
    if (r.sessionId === null || r.position === null || t === undefined) return false;
    times[k] = t;
  }
  for (let k = 0; k < records.length; k++) records[k].ts = times[k];
  return true;
}

export async function runAnalyzeCommand(options: AnalyzeCommandOptions): Promise<{
  analysis: ExperimentAnalysis;
  htmlPath: string;
  jsonPath: string;
  covariate?: CovariateFill;
  /** Decision times were replaced by the replayed listens' start times. */
  listenTimes: boolean;
}> {
  const stdout = options.stdout ?? process.stdout;
  const postgres = isPostgresUrl(options.log);
  const logPath = postgres ? options.log : resolve(options.log);
  if (!postgres && !existsSync(logPath)) throw new Error(`--log: decision log ${logPath} does not exist`);
  // The cost model that prices each variant against cache-everything (CostFlags; default DEFAULT_COST_MODEL).
  const analyzeOptions: AnalyzeOptions = { costModel: costModelFromFlags(options) };
  if (options.control !== undefined) analyzeOptions.control = options.control;
  if (options.experiment !== undefined) {
    const { readExperimentConfig } = await import("../serve/experiment.ts");
    const config = readExperimentConfig(options.experiment);
    analyzeOptions.experiment = config.name;
    analyzeOptions.weights = Object.fromEntries(config.variants.map((v) => [v.name, v.weight]));
  }
  const logged = (await collectDecisionRecords(logPath, { experiment: analyzeOptions.experiment })).filter(
    (r) => r.experiment !== null && r.variant !== null,
  );
  const records = logged.map(toDecisionRecord);
  if (records.length === 0) {
    throw new Error(
      `decision log ${postgres ? redactedUrl(logPath) : logPath} holds no A/B decisions (only /abtest and /v1/predict without "model" are assigned a variant)`,
    );
  }
  let covariate: CovariateFill | undefined;
  let listenTimes = false;
  if (options.data !== undefined) {
    const { loadDelivery } = await import("../data/index.ts");
    const { buildListens } = await import("../listens/index.ts");
    const delivery = await loadDelivery(resolve(options.data));
    const listens = buildListens(delivery.events, delivery.catalog);
    listenTimes = useListenTimes(records, logged, listens);
    const { cutoffMs, source } = preExperimentCutoff(records, listens, parseFromTime(options.from));
    const rates = preSkipRates(listens, cutoffMs);
    fillPreSkipRates(records, rates);
    covariate = { cutoffMs, cutoffSource: source, usersWithHistory: rates.size };
  }
  // The service's default experiment is the naive rule vs the bundle's model: the rule is the control.
  if (analyzeOptions.control === undefined && analyzeOptions.weights === undefined) {
    if (records.some((r) => r.variant === GENRE_RULE_MODEL)) analyzeOptions.control = GENRE_RULE_MODEL;
  }
  const analysis = analyzeExperiment(records, analyzeOptions);
  const out = resolve(options.out ?? "out/abtest");
  const { htmlPath, jsonPath } = await writeAbtestReport(analysis, out, {
    generatedAt: new Date().toISOString(),
  });
  const lines = abtestSummary(analysis);
  if (covariate) {
    lines.push(
      `CUPED covariate: skip rate before ${new Date(covariate.cutoffMs).toISOString()} (${covariate.cutoffSource}), ` +
        `${covariate.usersWithHistory} users with history`,
    );
  } else {
    lines.push("CUPED covariate: none (pass --data <delivery> to use each user's pre-experiment skip rate)");
  }
  lines.push(
    listenTimes
      ? "decision times: the replayed listens' start times (the log's wall-clock times only span the replay)"
      : "decision times: as logged by the service",
  );
  lines.push(
    `cost model: ${describeCostModel(analysis.costModel)}; always-valid intervals may be read after every listen`,
  );
  for (const w of analysis.warnings) lines.push(`warning: ${w}`);
  lines.push(`report: ${htmlPath}`, `json: ${jsonPath}`);
  stdout.write(`${lines.join("\n")}\n`);
  return { analysis, htmlPath, jsonPath, covariate, listenTimes };
}
