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
  learn(items: Iterable<LearnedItem>): void {
    applyLearned(this.current, items);
  }

  /** What earlier runs learned online on this snapshot (feedback, events) is learned again. */
  restoreOnlineState(): void {
    const origin = this.current.stateOrigin;
    const relearned = applyLearned(this.current, this.options.log.learnedOn(origin));
    if (relearned > 0)
      this.options.operatorLog.info({ relearned, origin }, "online state restored from the log");
  }

  async reload(dir?: string): Promise<ReloadResult> {
    const target = dir ?? this.currentDir;
    const { load } = this.options;
    if (!load) throw new BundleRefusedError("reload is not available: no bundle loader configured");
    if (!target) throw new BundleRefusedError("reload needs a bundle directory");
    const next = await this.loadChecked(load, target);
    return this.swapIn(next, target);
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

  private swapIn(next: Scorer, dir: string): ReloadResult {
    const { log, metrics, operatorLog } = this.options;
    const previousVersion = this.current.bundleVersion;
    // Synchronous from here to the swap: a commit lands either before (journaled, relearned below) or
    // after (taught to `next` by onLearned), never in between.
    const relearnedItems = applyLearned(next, log.learnedOn(next.stateOrigin));
    const onlineState = next.stateOrigin === this.current.stateOrigin ? "kept" : "reset";
    this.current = next;
    this.currentDir = dir;
    metrics.setBundle(next.bundleVersion);
    metrics.countReload("ok");
    operatorLog.info(
      { bundle: dir, version: next.bundleVersion, previousVersion, onlineState, relearnedItems },
      "bundle reloaded",
    );
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

/** Teaches committed items to a scorer, when they were learned on its snapshot; returns how many. */
function applyLearned(target: Scorer, items: Iterable<LearnedItem>): number {
  let applied = 0;
  const events: EventRecord[] = [];
  const flushEvents = () => {
    if (events.length > 0) target.applyEvents(events.splice(0));
  };
  for (const item of items) {
    if (item.origin !== target.stateOrigin) continue;
    if (item.kind === "event") events.push(item.event);
    else {
      flushEvents();
      target.learn(item.outcome);
    }
    applied++;
  }
  flushEvents();
  return applied;
}
