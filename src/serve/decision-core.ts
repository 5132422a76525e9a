// The decision core: score → decide → log → learn, with no HTTP in it. Routes turn requests into its inputs
// and its results into answers; what it refuses it throws as the errors declared in errors.ts. A decision,
// an outcome or an event batch is counted and learned only once the decision log has committed it.
import { ConfidenceSequence } from "../base/statistics.ts";
import type { EventRecord } from "../data/event-record.ts";
import { DecisionIds } from "./decision-id.ts";
import {
  type DecisionLog,
  type DecisionRow,
  FeedbackAlreadyRecordedError,
  type LoggedDecision,
  type LogProblem,
} from "./decision-log.ts";
import {
  DecisionNotFoundError,
  DuplicateFeedbackError,
  HeardBeyondDurationError,
  type ListenKey,
  OpenListenNotFoundError,
  TimeOutsideWindowError,
  UnknownModelError,
} from "./errors.ts";
import { Assigner, defaultExperiment, type ExperimentConfig, type VariantConfig } from "./experiment.ts";
import { Guardrail } from "./guardrail.ts";
import { NO_VARIANT, type ServeMetrics } from "./metrics.ts";
import {
  decide,
  type ListenOutcome,
  type Score,
  type ScoreRequest,
  type Scorer,
  type ServedPolicy,
  type SessionContext,
} from "./scorer.ts";
import { type OperatorLog, type ReloadResult, type ScorerLoader, ServedBundle } from "./served-bundle.ts";
import { ClientClock } from "./time-window.ts";

export type { OperatorLog, ReloadResult } from "./served-bundle.ts";

/** A reported heard time may pass the catalogue duration by this much (client timers, rounding). */
const HEARD_SLACK_MS = 1_000;

/** Live handles of a running app: the current scorer and experiment, and the reload entry point. */
export interface ServiceControl {
  readonly scorer: Scorer;
  readonly assigner: Assigner;
  readonly metrics: ServeMetrics;
  readonly log: DecisionLog;
  /** Loads and swaps in a new bundle; throws `BundleRefusedError` and keeps the old one on failure. */
  reload(dir?: string): Promise<ReloadResult>;
}

export interface DecisionCoreOptions {
  scorer: Scorer;
  bundleDir?: string;
  loadScorer?: ScorerLoader;
  log: DecisionLog;
  /** Default: the bundle's naive model vs its default model, 50/50. */
  experiment?: ExperimentConfig;
  decisions?: "policy" | "models";
  metrics: ServeMetrics;
  operatorLog: OperatorLog;
  /** Live guardrail (guardrail.ts); default: on, α = 0.05. */
  guardrail?: { enabled: boolean };
}

export interface PredictionInput {
  userId: number;
  trackId: string;
  /** A model the client named; absent = the experiment assigns one. */
  model?: string;
  session?: SessionContext;
  /** Listen start the client gave (epoch ms); absent = now. */
  atMs?: number;
  explain: boolean;
  /** Prefixes the client's field names in errors ("" for one prediction, "items.<i>." in a batch). */
  fieldPrefix: string;
}

export interface Prediction {
  row: DecisionRow;
  score: Score;
}

/** The decision feedback is about: by id, or the open listen of a user + track (+ session). */
export type FeedbackTarget = { decisionId: string } | ListenKey;

export interface FeedbackInput {
  target: FeedbackTarget;
  skipped: boolean;
  /** Audio actually heard; NaN when the client did not say. */
  heardMs: number;
  /** Listen start the client gave (epoch ms); absent = when the decision was made. */
  atMs?: number;
}

export type Readiness =
  | { kind: "closing" }
  | { kind: "log-unwritable"; problem: LogProblem | null; bundleVersion: string }
  | {
      kind: "ready";
      bundleVersion: string;
      bundleDir: string | undefined;
      /** null before the online state has seen any time. */
      stateClockMs: number | null;
      models: string[];
      policy: ServedPolicy;
      decisions: "policy" | "models";
    };

/** A request with its model decided, before scoring. */
interface Planned {
  input: PredictionInput;
  request: ScoreRequest;
  variant: VariantConfig | null;
  model: string;
}

/** What every row of one request's decisions shares. */
interface RowContext {
  scorer: Scorer;
  route: string;
  nowMs: number;
}

export class DecisionCore implements ServiceControl {
  readonly assigner: Assigner;
  readonly metrics: ServeMetrics;
  readonly log: DecisionLog;
  /** "policy": the bundle's policy decides; "models": each model at its threshold, whatever the policy. */
  readonly decisions: "policy" | "models";
  private readonly bundle: ServedBundle;
  private readonly operatorLog: OperatorLog;
  private readonly ids = new DecisionIds();
  readonly guardrail: Guardrail;
  private readonly clientClock = new ClientClock();

  constructor(options: DecisionCoreOptions) {
    this.metrics = options.metrics;
    this.log = options.log;
    this.operatorLog = options.operatorLog;
    this.decisions = options.decisions ?? "policy";
    this.log.onCommit = (rows, seconds) => this.metrics.observeLogCommit(rows, seconds);
    const experiment =
      options.experiment ?? defaultExperiment(options.scorer.modelNames, options.scorer.defaultModel);
    this.bundle = new ServedBundle({
      scorer: options.scorer,
      dir: options.bundleDir,
      load: options.loadScorer,
      experiment,
      log: options.log,
      metrics: options.metrics,
      operatorLog: options.operatorLog,
    });
    this.assigner = new Assigner(experiment);
    this.guardrail = new Guardrail({
      enabled: options.guardrail?.enabled ?? true,
      // Tightest near 10,000 listens of savings on the scale of one stall of the bundle served now.
      sequence: () =>
        new ConfidenceSequence({
          alpha: 0.05,
          plannedN: 10_000,
          plannedSd: Math.max(1, this.scorer.costModel.stall),
        }),
    });
    this.guardrail.onChange = (event) => {
      this.metrics.setGuardrailFallback(event.variant, event.fallback);
      const details = {
        variant: event.variant,
        listens: event.listens,
        meanSaving: event.meanSaving,
        interval: [event.interval.lower, event.interval.upper],
      };
      if (event.fallback)
        this.operatorLog.error(
          details,
          "guardrail: the model costs more than caching everything: serving PLAY (prefetch everything), scoring the model in shadow",
        );
      else this.operatorLog.info(details, "guardrail: the evidence turned: the model decides again");
    };
    this.log.onLearned = (items) => this.bundle.learn(items);
    this.log.onProblem = (problem) => this.reportLogProblem(problem);
    // An in-process state has relearned the journal when this returns (see applyLearned in served-bundle.ts).
    this.bundle
      .restoreOnlineState()
      .catch((error: Error) =>
        this.operatorLog.error({ err: error }, "online state could not be restored from the log"),
      );
    this.metrics.setBundle(this.bundle.scorer.bundleVersion);
    for (const variant of experiment.variants) this.metrics.declareVariant(variant.name, variant.model);
  }

  get scorer(): Scorer {
    return this.bundle.scorer;
  }

  get bundleDir(): string | undefined {
    return this.bundle.dir;
  }

  async reload(dir?: string): Promise<ReloadResult> {
    const result = await this.bundle.reload(dir);
    this.guardrail.reset();
    return result;
  }

  /** Scores one request (and its shadows), logs it and, once committed, counts it. */
  async predict(input: PredictionInput, route: string): Promise<Prediction> {
    const nowMs = Date.now();
    const plan = this.plan(input, nowMs);
    const context: RowContext = { scorer: this.scorer, route, nowMs };
    const score = await context.scorer.score(plan.model, plan.request);
    const row = this.servedRow(context, plan, score);
    const shadows: DecisionRow[] = this.guard(context, plan, score, row);
    for (const variant of this.shadowVariants(plan)) {
      const shadowScore = await context.scorer.score(variant.model, plan.request);
      shadows.push(this.shadowRow(context, plan, variant, shadowScore, row.id));
    }
    await this.commitDecision(row, shadows);
    return { row, score };
  }

  /** Many requests: each model scores all of its requests in one `scoreBatch` call, all in one group commit. */
  async predictBatch(inputs: readonly PredictionInput[], route: string): Promise<Prediction[]> {
    const nowMs = Date.now();
    const plans = inputs.map((input) => this.plan(input, nowMs));
    const context: RowContext = { scorer: this.scorer, route, nowMs };
    const scores = await scoreByModel(context.scorer, plans);
    const shadowJobs = plans.flatMap((plan, index) =>
      this.shadowVariants(plan).map((variant) => ({
        index,
        variant,
        request: plan.request,
        model: variant.model,
      })),
    );
    const shadowScores = await scoreByModel(context.scorer, shadowJobs);
    const results = plans.map((plan, i) => {
      const row = this.servedRow(context, plan, scores[i]);
      return { row, shadows: this.guard(context, plan, scores[i], row), score: scores[i] };
    });
    shadowJobs.forEach(({ index, variant }, k) => {
      const result = results[index];
      result.shadows.push(this.shadowRow(context, plans[index], variant, shadowScores[k], result.row.id));
    });
    // Every record joins the same batch, so awaiting them all costs one transaction.
    await Promise.all(results.map(({ row, shadows }) => this.commitDecision(row, shadows)));
    return results.map(({ row, score }) => ({ row, score }));
  }

  /** Logs the real outcome of a decision; once committed, counts it (shadows apart) and learns it. */
  async recordFeedback(input: FeedbackInput): Promise<{ decisionId: string; correct: boolean }> {
    const logged = await this.findDecision(input.target);
    const { row } = logged;
    if (logged.hasFeedback || this.log.feedbackInFlight(row.id)) throw new DuplicateFeedbackError(row.id);
    const scorer = this.scorer;
    const durationMs = scorer.trackDurationMs(row.trackId);
    if (input.heardMs > durationMs + HEARD_SLACK_MS) {
      throw new HeardBeyondDurationError(input.heardMs, durationMs);
    }
    if (input.atMs !== undefined) this.acceptClientTime(input.atMs, "timestamp_ms");
    // Learned, counted and marked as answered only once committed (the log's onLearned teaches the state).
    const recorded = this.log.recordFeedback(
      {
        decisionId: row.id,
        tsMs: Date.now(),
        userId: row.userId,
        trackId: row.trackId,
        sessionId: row.sessionId,
        skipped: input.skipped,
        heardMs: input.heardMs,
        durationMs,
      },
      logged,
      { origin: scorer.stateOrigin, outcome: listenOutcome(row, input) },
    );
    try {
      await recorded;
    } catch (error) {
      // Another replica recorded this decision's feedback first (PostgreSQL log): a duplicate, as here.
      if (error instanceof FeedbackAlreadyRecordedError) throw new DuplicateFeedbackError(row.id);
      throw error;
    }
    this.countOutcomes(logged, input, durationMs);
    return { decisionId: row.id, correct: (row.decision === "SKIP") === input.skipped };
  }

  /** Journals session events; the log's onLearned applies them to the state once committed. */
  async learnEvents(
    records: readonly EventRecord[],
  ): Promise<{ accepted: number; learned: number; repeats: number }> {
    const { learned, repeats } = await this.log.recordEvents(records, this.scorer.stateOrigin);
    return { accepted: records.length, learned, repeats };
  }

  /** Refuses a client time outside the window around the service clock (see time-window.ts). */
  acceptClientTime(ms: number, field: string): void {
    const refused = this.clientClock.accept(ms, this.scorer.stateClockMs, Date.now());
    if (refused) throw new TimeOutsideWindowError(field, ms, refused);
  }

  /** Whether the service can answer: not closing, and the decision log takes a write (probed). */
  readiness(): Readiness {
    if (this.log.isClosed) return { kind: "closing" };
    const scorer = this.scorer;
    if (!this.log.checkWritable()) {
      return { kind: "log-unwritable", problem: this.log.problem, bundleVersion: scorer.bundleVersion };
    }
    return {
      kind: "ready",
      bundleVersion: scorer.bundleVersion,
      bundleDir: this.bundle.dir,
      stateClockMs: Number.isFinite(scorer.stateClockMs) ? scorer.stateClockMs : null,
      models: [...scorer.modelNames],
      policy: scorer.policy,
      decisions: this.decisions,
    };
  }

  private reportLogProblem(problem: LogProblem | null): void {
    if (problem)
      this.operatorLog.error({ log: this.log.path, problem }, "decision log cannot be written: not ready");
    else this.operatorLog.info({ log: this.log.path }, "decision log writable again: ready");
  }

  /** Which model answers a request: the one named in it, else the user's experiment variant. */
  private plan(input: PredictionInput, nowMs: number): Planned {
    if (input.atMs !== undefined) this.acceptClientTime(input.atMs, `${input.fieldPrefix}timestamp_ms`);
    const variant = input.model === undefined ? this.assigner.assign(input.userId) : null;
    return {
      input,
      request: {
        userId: input.userId,
        trackId: input.trackId,
        session: input.session,
        atMs: input.atMs ?? nowMs,
        explain: input.explain,
      },
      variant,
      model: variant ? variant.model : this.resolveModel(input.model, `${input.fieldPrefix}model`),
    };
  }

  private resolveModel(requested: string | undefined, field: string): string {
    const scorer = this.scorer;
    if (requested === undefined) return scorer.defaultModel;
    if (!scorer.modelNames.includes(requested))
      throw new UnknownModelError(field, requested, scorer.modelNames);
    return requested;
  }

  /** Variants scored in shadow for a planned request: every other variant when the experiment says so. */
  private shadowVariants(plan: Planned): VariantConfig[] {
    const { config } = this.assigner;
    return plan.variant && config.shadow ? config.variants.filter((v) => v !== plan.variant) : [];
  }

  private servedRow(context: RowContext, plan: Planned, score: Score): DecisionRow {
    return this.decisionRow(
      context,
      plan,
      { model: plan.model, variant: plan.variant?.name ?? null, score },
      null,
    );
  }

  /**
   * Under the guardrail's fallback, a served SKIP becomes PLAY (prefetch everything) and the model's own
   * decision is kept as a shadow row of the same variant: its saving keeps feeding the guardrail.
   */
  private guard(context: RowContext, plan: Planned, score: Score, row: DecisionRow): DecisionRow[] {
    if (row.variant === null || row.decision !== "SKIP" || !this.guardrail.isFallback(row.variant)) return [];
    const shadow = this.decisionRow(context, plan, { model: row.model, variant: row.variant, score }, row.id);
    row.decision = "PLAY";
    return [shadow];
  }

  private shadowRow(
    context: RowContext,
    plan: Planned,
    variant: VariantConfig,
    score: Score,
    shadowOf: string,
  ): DecisionRow {
    return this.decisionRow(context, plan, { model: variant.model, variant: variant.name, score }, shadowOf);
  }

  /** The logged row of one scored decision (served, or a shadow of `shadowOf`). */
  private decisionRow(
    { scorer, route, nowMs }: RowContext,
    plan: Planned,
    scored: { model: string; variant: string | null; score: Score },
    shadowOf: string | null,
  ): DecisionRow {
    const threshold = scorer.threshold(scored.model);
    const policy = this.decisions === "models" ? undefined : scorer.policy;
    return {
      id: this.ids.next(nowMs),
      tsMs: nowMs,
      listenMs: plan.request.atMs ?? nowMs,
      route,
      experiment: plan.variant ? this.assigner.config.name : null,
      variant: scored.variant,
      model: scored.model,
      bundleVersion: scorer.bundleVersion,
      userId: plan.input.userId,
      trackId: plan.input.trackId,
      sessionId: plan.input.session?.sessionId ?? null,
      position: plan.input.session?.position ?? null,
      probSkip: scored.score.probSkip,
      threshold,
      decision: decide(scored.score.probSkip, threshold, policy),
      coldUser: scored.score.coldStart.user,
      coldTrack: scored.score.coldStart.track,
      served: shadowOf === null,
      shadowOf,
    };
  }

  /** Logs a decision with its shadow rows and, once committed (never before), counts them. */
  private async commitDecision(row: DecisionRow, shadows: DecisionRow[]): Promise<void> {
    await this.log.record(row, shadows);
    for (const r of [row, ...shadows]) {
      this.metrics.countDecision(r.variant ?? NO_VARIANT, r.model, r.decision, r.served);
    }
  }

  private async findDecision(target: FeedbackTarget): Promise<LoggedDecision> {
    if ("decisionId" in target) {
      const logged = await this.log.find(target.decisionId);
      if (!logged) throw new DecisionNotFoundError(target.decisionId);
      return logged;
    }
    const logged = await this.log.findOpenListen(target.userId, target.trackId, target.sessionId);
    if (!logged) {
      this.metrics.countUnmatchedFeedback();
      throw new OpenListenNotFoundError(target, this.log.openListenCapacity);
    }
    return logged;
  }

  /** Confusion and cache-waste counts of the served decision; its shadow rows count apart. */
  private countOutcomes(logged: LoggedDecision, input: FeedbackInput, durationMs: number): void {
    const { skipped, heardMs } = input;
    const labelsOf = (row: DecisionRow) => ({
      variant: row.variant ?? NO_VARIANT,
      model: row.model,
      predicted: row.decision,
      skipped,
    });
    const costModel = this.scorer.costModel;
    let modelSaving = this.metrics.countOutcome(labelsOf(logged.row), false, heardMs, durationMs, costModel);
    const variant = logged.row.variant;
    for (const shadow of logged.shadows) {
      const saving = this.metrics.countOutcome(labelsOf(shadow), true, heardMs, durationMs, costModel);
      // The guardrail's own shadow (same variant): what the model decided while PLAY was served.
      if (shadow.variant === variant) modelSaving = saving;
    }
    if (variant !== null) this.guardrail.observe(variant, modelSaving);
  }
}

/** Scores jobs grouped by model, one `scoreBatch` per model in order of first appearance. */
async function scoreByModel(
  scorer: Scorer,
  jobs: readonly { model: string; request: ScoreRequest }[],
): Promise<Score[]> {
  const byModel = new Map<string, number[]>();
  jobs.forEach((job, k) => {
    const group = byModel.get(job.model);
    if (group) group.push(k);
    else byModel.set(job.model, [k]);
  });
  const out: Score[] = new Array(jobs.length);
  for (const [model, ks] of byModel) {
    const scores = await scorer.scoreBatch(
      model,
      ks.map((k) => jobs[k].request),
    );
    ks.forEach((k, j) => {
      out[k] = scores[j];
    });
  }
  return out;
}

/** The outcome as the feature state learns it; the listen started when predicted unless the client says. */
function listenOutcome(row: DecisionRow, input: FeedbackInput): ListenOutcome {
  const outcome: ListenOutcome = {
    userId: row.userId,
    trackId: row.trackId,
    skipped: input.skipped,
    heardMs: input.heardMs,
    atMs: input.atMs ?? row.listenMs,
  };
  if (row.sessionId !== null) outcome.sessionId = row.sessionId;
  if (row.position !== null) outcome.position = row.position;
  return outcome;
}
