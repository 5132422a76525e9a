// Prometheus metrics of one app instance (own Registry: tests run several apps in one process).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { type CostModel, prefetchCost, streamCost } from "../listens/cost-model.ts";
import type { Decision } from "./scorer.ts";

/** Variant label of decisions made with an explicitly chosen model (no experiment). */
export const NO_VARIANT = "none";

export interface OutcomeLabels {
  variant: string;
  model: string;
  predicted: Decision;
  skipped: boolean;
}

export class ServeMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"route" | "method" | "status">;
  private readonly latency: Histogram<"route" | "method" | "status">;
  private readonly decisions: Counter<"variant" | "model" | "decision" | "served">;
  private readonly outcomes: Counter<"variant" | "model" | "predicted" | "actual">;
  private readonly shadowOutcomes: Counter<"variant" | "model" | "predicted" | "actual">;
  private readonly wastedMs: Counter<"variant">;
  private readonly missedMs: Counter<"variant">;
  private readonly unplayedMs: Counter<"variant">;
  private readonly playedMs: Counter<"variant">;
  private readonly decisionCost: Counter<"variant" | "served">;
  private readonly cacheAllCost: Counter<"variant" | "served">;
  private readonly netSaving: Gauge<"variant" | "served">;
  private readonly guardrailFallback: Gauge<"variant">;
  private readonly feedbackUnmatched: Counter<string>;
  private readonly bundleInfo: Gauge<"bundle_version">;
  private readonly reloads: Counter<"result">;
  private readonly logCommits: Counter<string>;
  private readonly logBatch: Histogram<string>;
  private readonly logCommitTime: Histogram<string>;
  /** Bound children per label tuple: label hashing on every request is measurable at 20k req/s. */
  private readonly requestChildren = new Map<
    string,
    { count: Counter.Internal; time: Histogram.Internal<"route" | "method" | "status"> }
  >();
  private readonly decisionChildren = new Map<string, Counter.Internal>();

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: "skipwise_http_requests_total",
      help: "HTTP requests by route, method and status code",
      labelNames: ["route", "method", "status"],
      registers,
    });
    this.latency = new Histogram({
      name: "skipwise_http_request_duration_seconds",
      help: "HTTP request latency by route, method and status code",
      labelNames: ["route", "method", "status"],
      buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.decisions = new Counter({
      name: "skipwise_decisions_total",
      help: "Predictions made, by experiment variant (none = model chosen explicitly), model, decision, served or shadow",
      labelNames: ["variant", "model", "decision", "served"],
      registers,
    });
    this.outcomes = new Counter({
      name: "skipwise_feedback_outcomes_total",
      help: "Served decisions with a reported outcome: confusion counts by variant (predicted vs actual, skip/play)",
      labelNames: ["variant", "model", "predicted", "actual"],
      registers,
    });
    this.shadowOutcomes = new Counter({
      name: "skipwise_shadow_feedback_outcomes_total",
      help: "Shadow-mode decisions (scored, not served) with a reported outcome: confusion counts by variant",
      labelNames: ["variant", "model", "predicted", "actual"],
      registers,
    });
    this.decisionCost = new Counter({
      name: "skipwise_decision_cost_total",
      help: "Cost (the bundle's cost model: waste per MB + stall) of each variant's decisions on the listens with feedback; served=false: shadow scores",
      labelNames: ["variant", "served"],
      registers,
    });
    this.cacheAllCost = new Counter({
      name: "skipwise_cache_all_cost_total",
      help: "What prefetching everything (cache-all) would have cost on the same listens",
      labelNames: ["variant", "served"],
      registers,
    });
    this.netSaving = new Gauge({
      name: "skipwise_net_saving",
      help: "Running net saving of each variant against cache-all on its listens with feedback (cache-all cost - decision cost; negative = the model costs more)",
      labelNames: ["variant", "served"],
      registers,
    });
    this.guardrailFallback = new Gauge({
      name: "skipwise_guardrail_fallback",
      help: "1 while the live guardrail serves PLAY (prefetch everything) for the variant because its model costs more than caching everything (always-valid test), else 0",
      labelNames: ["variant"],
      registers,
    });
    this.wastedMs = new Counter({
      name: "skipwise_cache_wasted_audio_ms_total",
      help: "Audio ms prefetched (decision PLAY) but never played because the listener skipped",
      labelNames: ["variant"],
      registers,
    });
    this.missedMs = new Counter({
      name: "skipwise_cache_missed_audio_ms_total",
      help: "Audio ms played but not prefetched (decision SKIP, listener played on)",
      labelNames: ["variant"],
      registers,
    });
    this.unplayedMs = new Counter({
      name: "skipwise_feedback_unplayed_audio_ms_total",
      help: "Unplayed tails of skipped listens: what a cache-everything client would have wasted",
      labelNames: ["variant"],
      registers,
    });
    this.playedMs = new Counter({
      name: "skipwise_feedback_played_audio_ms_total",
      help: "Audio ms heard in listens with a reported outcome",
      labelNames: ["variant"],
      registers,
    });
    this.feedbackUnmatched = new Counter({
      name: "skipwise_feedback_unmatched_total",
      help: "Feedback refused (404) because no open decision matched its user + track (+ session)",
      registers,
    });
    this.bundleInfo = new Gauge({
      name: "skipwise_bundle_info",
      help: "The model bundle being served (value 1, version in the label)",
      labelNames: ["bundle_version"],
      registers,
    });
    this.reloads = new Counter({
      name: "skipwise_bundle_reloads_total",
      help: "Bundle reload attempts by result",
      labelNames: ["result"],
      registers,
    });
    this.logCommits = new Counter({
      name: "skipwise_decision_log_commits_total",
      help: "Group-commit transactions written to the decision log",
      registers,
    });
    this.logBatch = new Histogram({
      name: "skipwise_decision_log_batch_rows",
      help: "Rows (decisions and feedback) written per group commit",
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    });
    this.logCommitTime = new Histogram({
      name: "skipwise_decision_log_commit_seconds",
      help: "Duration of a group commit (the event loop is blocked meanwhile)",
      buckets: [0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05],
      registers,
    });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Exports a route's successful-request series at 0 before its first request, so a rate over a window that
   * starts before the first request sees the increase (Prometheus cannot rate a series from its first sample).
   */
  declareRoute(route: string, method: string): void {
    const labels = { route, method, status: "200" };
    this.requests.inc(labels, 0);
    this.latency.zero(labels);
  }

  observeRequest(route: string, method: string, status: number, seconds: number): void {
    const key = `${route} ${method} ${status}`;
    let child = this.requestChildren.get(key);
    if (!child) {
      const labels = { route, method, status: String(status) };
      child = { count: this.requests.labels(labels), time: this.latency.labels(labels) };
      this.requestChildren.set(key, child);
    }
    child.count.inc();
    child.time.observe(seconds);
  }

  countDecision(variant: string, model: string, decision: Decision, served: boolean): void {
    const key = `${variant}\u0000${model}\u0000${decision}\u0000${served}`;
    let child = this.decisionChildren.get(key);
    if (!child) {
      child = this.decisions.labels({ variant, model, decision, served: served ? "true" : "false" });
      this.decisionChildren.set(key, child);
    }
    child.inc();
  }

  /**
   * Records the outcome of a decision: confusion counts, and the cache accounting when the track's
   * duration is known (wasted = tail of a prefetched skipped track, missed = audio played without prefetch).
   */
  /** Counts an outcome; returns the listen's net saving against cache-all (0 for a PLAY decision). */
  countOutcome(
    labels: OutcomeLabels,
    shadow: boolean,
    heardMs: number,
    durationMs: number,
    costModel: CostModel,
  ): number {
    const actual = labels.skipped ? "skip" : "play";
    const predicted = labels.predicted === "SKIP" ? "skip" : "play";
    const counter = shadow ? this.shadowOutcomes : this.outcomes;
    counter.inc({ variant: labels.variant, model: labels.model, predicted, actual });
    const cacheAll = prefetchCost(labels.skipped, durationMs, heardMs, costModel);
    const cost = labels.predicted === "SKIP" ? streamCost(labels.skipped, costModel) : cacheAll;
    const costLabels = { variant: labels.variant, served: shadow ? "false" : "true" };
    this.decisionCost.inc(costLabels, cost);
    this.cacheAllCost.inc(costLabels, cacheAll);
    this.netSaving.inc(costLabels, cacheAll - cost);
    if (shadow) return cacheAll - cost;
    const heard = Number.isFinite(heardMs) ? heardMs : labels.skipped ? Number.NaN : durationMs;
    if (Number.isFinite(heard)) this.playedMs.inc({ variant: labels.variant }, Math.max(0, heard));
    if (labels.skipped && Number.isFinite(durationMs) && Number.isFinite(heard)) {
      const tail = Math.max(0, durationMs - heard);
      this.unplayedMs.inc({ variant: labels.variant }, tail);
      if (labels.predicted === "PLAY") this.wastedMs.inc({ variant: labels.variant }, tail);
    }
    if (!labels.skipped && labels.predicted === "SKIP" && Number.isFinite(heard)) {
      this.missedMs.inc({ variant: labels.variant }, Math.max(0, heard));
    }
    return cacheAll - cost;
  }

  setGuardrailFallback(variant: string, fallback: boolean): void {
    this.guardrailFallback.set({ variant }, fallback ? 1 : 0);
  }

  countUnmatchedFeedback(): void {
    this.feedbackUnmatched.inc();
  }

  setBundle(version: string): void {
    this.bundleInfo.reset();
    this.bundleInfo.set({ bundle_version: version }, 1);
  }

  countReload(result: "ok" | "refused"): void {
    this.reloads.inc({ result });
  }

  observeLogCommit(rows: number, seconds: number): void {
    this.logCommits.inc();
    this.logBatch.observe(rows);
    this.logCommitTime.observe(seconds);
  }

  /** Makes the confusion series exist at 0 for a variant so rate() works from the first scrape. */
  declareVariant(variant: string, model: string): void {
    for (const predicted of ["skip", "play"]) {
      for (const actual of ["skip", "play"]) {
        this.outcomes.inc({ variant, model, predicted, actual }, 0);
      }
    }
    this.wastedMs.inc({ variant }, 0);
    this.missedMs.inc({ variant }, 0);
    this.unplayedMs.inc({ variant }, 0);
    this.playedMs.inc({ variant }, 0);
    this.guardrailFallback.set({ variant }, 0);
    for (const served of ["true", "false"]) {
      this.decisionCost.inc({ variant, served }, 0);
      this.cacheAllCost.inc({ variant, served }, 0);
      this.netSaving.set({ variant, served }, 0);
    }
  }
}
