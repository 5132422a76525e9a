// The bundle being served and its hot swap. A reload loads and checks a new bundle, teaches it what was
// learned online on its feature-state snapshot, and swaps it in; a refused bundle leaves the old one serving.
import type { EventRecord } from "../data/event-record.ts";
import type { DecisionLog, LearnedItem } from "./decision-log.ts";
import { BundleRefusedError } from "./errors.ts";
import type { ExperimentConfig } from "./experiment.ts";
import type { ServeMetrics } from "./metrics.ts";
import type { Scorer } from "./scorer.ts";

export interface ReloadResult {
  bundleVersion: string;
  previousVersion: string;
  /**
   * "kept": the new bundle starts from the same feature-state snapshot, and everything learned online on
   * it was learned again; "reset": another snapshot (a retrained bundle), online learning starts afresh.
   */
  onlineState: "kept" | "reset";
  /** Journaled events and outcomes taught to the new scorer. */
  relearnedItems: number;
}

/** Where the service reports what an operator should know (pino's `info`/`error` fit). */
export interface OperatorLog {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

export type ScorerLoader = (dir: string) => Promise<Scorer> | Scorer;

export interface ServedBundleOptions {
  scorer: Scorer;
  /** Directory the scorer came from: the default target of a reload. */
  dir: string | undefined;
  /** Enables reloads. */
  load: ScorerLoader | undefined;
  /** Every scorer must have the models of its variants. */
  experiment: ExperimentConfig;
  log: DecisionLog;
  metrics: ServeMetrics;
  operatorLog: OperatorLog;
}

export class ServedBundle {
  private current: Scorer;
  private currentDir: string | undefined;

  constructor(private readonly options: ServedBundleOptions) {
    checkExperiment(options.experiment, options.scorer);
    this.current = options.scorer;
    this.currentDir = options.dir;
  }

  get scorer(): Scorer {
    return this.current;
  }

  get dir(): string | undefined {
    return this.currentDir;
  }

  /** Teaches committed journal items to the served scorer (the decision log's onLearned). */
  learn(items: Iterable<LearnedItem>): Promise<void> {
    return applyLearned(this.current, items).done;
  }

  /**
   * What earlier runs learned online on this snapshot (feedback, events) is learned again; a state held in
   * Redis learned it already and outlives the process.
   */
  async restoreOnlineState(): Promise<void> {
    if (this.current.sharedState) return;
    const origin = this.current.stateOrigin;
    const { applied: relearned, done } = applyLearned(this.current, this.options.log.learnedOn(origin));
    await done;
    if (relearned > 0)
      this.options.operatorLog.info({ relearned, origin }, "online state restored from the log");
  }

  async reload(dir?: string): Promise<ReloadResult> {
    const target = dir ?? this.currentDir;
    const { load } = this.options;
    if (!load) throw new BundleRefusedError("reload is not available: no bundle loader configured");
    if (!target) throw new BundleRefusedError("reload needs a bundle directory");
    const next = await this.loadChecked(load, target);
    return await this.swapIn(next, target);
  }

  private async loadChecked(load: ScorerLoader, dir: string): Promise<Scorer> {
    try {
      const next = await load(dir);
      checkExperiment(this.options.experiment, next);
      return next;
    } catch (error) {
      this.options.metrics.countReload("refused");
      const message = error instanceof Error ? error.message : String(error);
      throw new BundleRefusedError(
        `bundle ${dir} refused, still serving ${this.current.bundleVersion}: ${message}`,
      );
    }
  }

  private async swapIn(next: Scorer, dir: string): Promise<ReloadResult> {
    const { log, metrics, operatorLog } = this.options;
    const previous = this.current;
    const previousVersion = previous.bundleVersion;
    // Synchronous from here to the swap: a commit lands either before (journaled, relearned below) or
    // after (taught to `next` by onLearned), never in between. A state in Redis is shared: nothing to relearn.
    const relearned = next.sharedState ? null : applyLearned(next, log.learnedOn(next.stateOrigin));
    const relearnedItems = relearned?.applied ?? 0;
    const onlineState = next.stateOrigin === previous.stateOrigin ? "kept" : "reset";
    this.current = next;
    this.currentDir = dir;
    metrics.setBundle(next.bundleVersion);
    metrics.countReload("ok");
    operatorLog.info(
      { bundle: dir, version: next.bundleVersion, previousVersion, onlineState, relearnedItems },
      "bundle reloaded",
    );
    await relearned?.done;
    if (previous !== next) await previous.close();
    return { bundleVersion: next.bundleVersion, previousVersion, onlineState, relearnedItems };
  }
}

/** Refuses a scorer that lacks a model the experiment's variants need. */
function checkExperiment(experiment: ExperimentConfig, scorer: Scorer): void {
  for (const variant of experiment.variants) {
    if (!scorer.modelNames.includes(variant.model)) {
      throw new BundleRefusedError(
        `experiment "${experiment.name}" variant "${variant.name}" needs model "${variant.model}", ` +
          `the bundle has: ${scorer.modelNames.join(", ")}`,
      );
    }
  }
}

/**
 * Teaches committed items to a scorer, when they were learned on its snapshot. Every call is issued here, in
 * order, before anything is awaited: an in-process state has learned them all when this returns, and a
 * Redis store receives them in this order on its one connection. `done` settles once all are applied.
 */
function applyLearned(
  target: Scorer,
  items: Iterable<LearnedItem>,
): { applied: number; done: Promise<void> } {
  let applied = 0;
  const pending: Promise<void>[] = [];
  const events: EventRecord[] = [];
  for (const item of items) {
    if (item.origin !== target.stateOrigin) continue;
    if (item.kind === "event") events.push(item.event);
    else {
      if (events.length > 0) pending.push(target.applyEvents(events.splice(0)));
      pending.push(target.learn(item.outcome));
    }
    applied++;
  }
  if (events.length > 0) pending.push(target.applyEvents(events.splice(0)));
  return { applied, done: Promise.all(pending).then(() => undefined) };
}
