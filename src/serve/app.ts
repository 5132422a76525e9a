// The prediction service as a Fastify app factory. `buildApp` never listens; `skipwise serve` does.
import { createHash, timingSafeEqual } from "node:crypto";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from "fastify";
import { type EventRecord, EventRecordError, normalizeEventRecord } from "../data/event-record.ts";
import { FEATURE_SCHEMA } from "../features/schema.ts";
import { DecisionIds } from "./decision-id.ts";
import {
  type DecisionLog,
  DecisionLogClosedError,
  DecisionLogWriteError,
  type DecisionRow,
  type LearnedItem,
  type LoggedDecision,
} from "./decision-log.ts";
import { Assigner, defaultExperiment, type ExperimentConfig, type VariantConfig } from "./experiment.ts";
import { NO_VARIANT, ServeMetrics } from "./metrics.ts";
import {
  abtestSchema,
  eventsSchema,
  feedbackSchema,
  healthSchema,
  metricsSchema,
  predictBatchSchema,
  predictSchema,
  readySchema,
  referenceSchema,
  reloadSchema,
} from "./schemas.ts";
import {
  decide,
  type ListenOutcome,
  type Score,
  type ScoreRequest,
  type Scorer,
  type ServedPolicy,
  type SessionContext,
} from "./scorer.ts";
import { ClientClock, MAX_LATENESS_MS, MAX_LEAD_MS } from "./time-window.ts";

export interface AppOptions {
  scorer: Scorer;
  /** Directory the scorer came from: the default target of a reload. */
  bundleDir?: string;
  /** Builds a scorer from a bundle directory; throws when the bundle fails validation. Enables reloads. */
  loadScorer?: (dir: string) => Promise<Scorer> | Scorer;
  /** Durable decision log; the app closes it on close. */
  log: DecisionLog;
  /** Default: the bundle's naive model vs its default model, 50/50. */
  experiment?: ExperimentConfig;
  /** Key for the admin routes (header `x-api-key`); admin routes answer 403 when none is set. */
  apiKey?: string;
  /** Requests per client per window; undefined or 0 = no rate limit. */
  rateLimit?: { max: number; timeWindowMs: number };
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** pino logger options, or false (default) for none. */
  logger?: boolean | { level: string };
  /** Include Node process metrics in /metrics (default true). */
  processMetrics?: boolean;
  /** "policy" (default): the bundle's policy decides; "models": each model at its threshold, whatever the policy. */
  decisions?: "policy" | "models";
  /** Whole-request deadline (default 10 s: a body that never finishes gets 408) and keep-alive idle close. */
  timeouts?: { requestMs?: number; keepAliveMs?: number };
}

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

/** Live handles of a running app: the current scorer and experiment, and the reload entry point. */
export interface ServiceControl {
  readonly scorer: Scorer;
  readonly assigner: Assigner;
  readonly metrics: ServeMetrics;
  readonly log: DecisionLog;
  /** Loads and swaps in a new bundle; throws `BundleRefusedError` and keeps the old one on failure. */
  reload(dir?: string): Promise<ReloadResult>;
}

declare module "fastify" {
  interface FastifyInstance {
    skipwise: ServiceControl;
  }
}

export class BundleRefusedError extends Error {}

const OPERATIONS_ROUTES = new Set(["/health", "/ready", "/metrics"]);

/** A reported heard time may pass the catalogue duration by this much (client timers, rounding). */
const HEARD_SLACK_MS = 1_000;

/** Refuses a client time outside the window around the service clock (see time-window.ts). */
function checkTimestamp(clock: ClientClock, current: Scorer, ms: number, field: string): void {
  const refused = clock.accept(ms, current.stateClockMs, Date.now());
  if (refused) {
    const from = Number.isFinite(refused.minMs) ? new Date(refused.minMs).toISOString() : "1990";
    throw new RequestError(
      400,
      `field "${field}" (${new Date(ms).toISOString()}) is outside the accepted window ${from} .. ${new Date(refused.maxMs).toISOString()} (at most ${MAX_LATENESS_MS / 86_400_000} days behind the latest time clients sent, ${MAX_LEAD_MS / 3_600_000} h ahead of the service clock)`,
      field,
    );
  }
}

interface ReferenceBody {
  user_id: number;
  track_id: string;
  timestamp_ms?: number;
}

interface PredictBody extends ReferenceBody {
  model?: string;
  session?: { session_id?: number; position?: number; previous_outcome?: "skipped" | "played" | null };
  explain?: boolean;
}

/** A request with its model decided, before scoring. */
interface Planned {
  body: PredictBody;
  request: ScoreRequest;
  variant: VariantConfig | null;
  model: string;
}

interface FeedbackBody {
  decision_id?: string;
  user_id?: number;
  track_id?: string;
  session_id?: number;
  outcome: "skipped" | "played";
  heard_ms?: number;
  timestamp_ms?: number;
}

/** An HTTP error with the field it concerns, answered as JSON by the error handler. */
class RequestError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

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

function toSession(body: PredictBody["session"]): SessionContext | undefined {
  if (!body) return undefined;
  return {
    sessionId: body.session_id,
    position: body.position,
    // Absent = the service's own record of the session; null = the client says there was none.
    previousSkipped:
      body.previous_outcome === undefined
        ? undefined
        : body.previous_outcome === null
          ? null
          : body.previous_outcome === "skipped",
  };
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    // No per-request info lines on the hot path; errors are still logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Wrong types are client errors, not something to coerce silently.
    // Extra properties where a schema says additionalProperties: false are refused, not silently dropped.
    ajv: { customOptions: { coerceTypes: false, allErrors: false, removeAdditional: false } },
    return503OnClosing: true,
    requestTimeout: options.timeouts?.requestMs ?? 10_000,
    // Idle sockets (a body that stopped arriving) are cut at once; requestTimeout alone is checked by Node
    // only every 30 s.
    connectionTimeout: options.timeouts?.requestMs ?? 10_000,
    keepAliveTimeout: options.timeouts?.keepAliveMs ?? 5_000,
    // A keep-alive connection is not kept forever: clients reconnect, so load spreads and drains finish.
    maxRequestsPerSocket: 100_000,
  });
  // Headers are part of the request: a client trickling them is held no longer than a slow body.
  app.server.headersTimeout = Math.min(app.server.headersTimeout, options.timeouts?.requestMs ?? 10_000);
  // CONNECT (proxy tunnels) is not an API call: answer it instead of leaving the socket open.
  app.server.on("connect", (_request, socket) => {
    socket.end("HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  });
  const metrics = new ServeMetrics({ processMetrics: options.processMetrics });
  for (const route of [
    "/naive",
    "/recommend",
    "/abtest",
    "/v1/predict",
    "/v1/predict/batch",
    "/v1/feedback",
    "/v1/events",
  ]) {
    metrics.declareRoute(route, "POST");
  }
  const ids = new DecisionIds();
  options.log.onCommit = (rows, seconds) => metrics.observeLogCommit(rows, seconds);
  const log = options.log;
  const experimentConfig =
    options.experiment ?? defaultExperiment(options.scorer.modelNames, options.scorer.defaultModel);
  checkExperiment(experimentConfig, options.scorer);
  const assigner = new Assigner(experimentConfig);
  const experimentName = experimentConfig.name;
  let scorer = options.scorer;
  let bundleDir = options.bundleDir;
  const decisionsBy = options.decisions ?? "policy";
  const clientClock = new ClientClock();
  const servedPolicy = (current: Scorer): ServedPolicy | undefined =>
    decisionsBy === "models" ? undefined : current.policy;
  /** Teaches committed items to the current scorer, when they were learned on its snapshot. */
  const applyLearned = (target: Scorer, items: Iterable<LearnedItem>): number => {
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
  };
  log.onLearned = (items) => applyLearned(scorer, items);
  log.onProblem = (problem) => {
    if (problem) app.log.error({ log: log.path, problem }, "decision log cannot be written: not ready");
    else app.log.info({ log: log.path }, "decision log writable again: ready");
  };
  // What earlier runs learned online on this snapshot (feedback, events) is learned again.
  const relearned = applyLearned(scorer, log.learnedOn(scorer.stateOrigin));
  if (relearned > 0)
    app.log.info({ relearned, origin: scorer.stateOrigin }, "online state restored from the log");
  metrics.setBundle(scorer.bundleVersion);
  for (const variant of experimentConfig.variants) metrics.declareVariant(variant.name, variant.model);

  const reload = async (dir?: string): Promise<ReloadResult> => {
    const target = dir ?? bundleDir;
    if (!options.loadScorer)
      throw new BundleRefusedError("reload is not available: no bundle loader configured");
    if (!target) throw new BundleRefusedError("reload needs a bundle directory");
    let next: Scorer;
    try {
      next = await options.loadScorer(target);
      checkExperiment(experimentConfig, next);
    } catch (error) {
      metrics.countReload("refused");
      const message = error instanceof Error ? error.message : String(error);
      throw new BundleRefusedError(
        `bundle ${target} refused, still serving ${scorer.bundleVersion}: ${message}`,
      );
    }
    const previousVersion = scorer.bundleVersion;
    // Synchronous from here to the swap: a commit lands either before (journaled, relearned below) or
    // after (taught to `next` by onLearned), never in between.
    const relearnedItems = applyLearned(next, log.learnedOn(next.stateOrigin));
    const onlineState = next.stateOrigin === scorer.stateOrigin ? "kept" : "reset";
    scorer = next;
    bundleDir = target;
    metrics.setBundle(next.bundleVersion);
    metrics.countReload("ok");
    app.log.info(
      { bundle: target, version: next.bundleVersion, previousVersion, onlineState, relearnedItems },
      "bundle reloaded",
    );
    return { bundleVersion: next.bundleVersion, previousVersion, onlineState, relearnedItems };
  };

  app.decorate("skipwise", {
    get scorer() {
      return scorer;
    },
    assigner,
    metrics,
    log,
    reload,
  } satisfies ServiceControl);

  app.addHook("onResponse", (request, reply, done) => {
    metrics.observeRequest(
      request.routeOptions.url ?? "unmatched",
      request.method,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
  app.addHook("onClose", async () => {
    await log.close();
  });

  app.setErrorHandler((error: FastifyError | RequestError, request, reply) => {
    const status = typeof error.statusCode === "number" ? error.statusCode : 500;
    if ("validation" in error && error.validation && error.validation.length > 0) {
      const issue = error.validation[0];
      const missing = (issue.params as { missingProperty?: string }).missingProperty;
      const path = issue.instancePath.replace(/^\//, "").replaceAll("/", ".");
      const field = missing
        ? path
          ? `${path}.${missing}`
          : missing
        : path || error.validationContext || "body";
      const message = missing
        ? `field "${field}" is required`
        : `field "${field}" ${issue.message ?? "is invalid"}`;
      return reply.code(400).send({ statusCode: 400, error: STATUS_TEXT[400], message, field });
    }
    if (status >= 400 && status < 500) {
      const body: Record<string, unknown> = {
        statusCode: status,
        error: STATUS_TEXT[status] ?? "Client Error",
        message: error.message,
      };
      if (error instanceof RequestError && error.field) body.field = error.field;
      return reply.code(status).send(body);
    }
    if (error instanceof DecisionLogClosedError) {
      return reply
        .code(503)
        .send({ statusCode: 503, error: STATUS_TEXT[503], message: "service is shutting down" });
    }
    if (error instanceof DecisionLogWriteError) {
      request.log.error({ err: error }, "decision not logged");
      return reply.code(503).send({
        statusCode: 503,
        error: STATUS_TEXT[503],
        message: "decision log unavailable: nothing was recorded; retry later",
      });
    }
    request.log.error({ err: error }, "request failed");
    return reply.code(500).send({ statusCode: 500, error: STATUS_TEXT[500], message: "internal error" });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      statusCode: 404,
      error: STATUS_TEXT[404],
      message: `no route ${request.method} ${request.url.split("?")[0]}`,
    });
  });

  if (options.rateLimit && options.rateLimit.max > 0) {
    await app.register(rateLimit, {
      global: true,
      max: options.rateLimit.max,
      timeWindow: options.rateLimit.timeWindowMs,
      // Probes and scrapes come from the same hosts as traffic; they must never be refused.
      allowList: (request) => request.method === "GET" && OPERATIONS_ROUTES.has(request.url.split("?")[0]),
    });
  }

  await app.register(swagger, {
    openapi: {
      info: {
        title: "skipwise prediction service",
        description: "Predicts skip vs full play so a streaming client prefetches only what will be heard",
        version: "0.1.0",
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  const resolveModel = (requested: string | undefined, field: string): string => {
    if (requested === undefined) return scorer.defaultModel;
    if (!scorer.modelNames.includes(requested)) {
      throw new RequestError(
        400,
        `field "${field}": unknown model "${requested}", available: ${scorer.modelNames.join(", ")}`,
        field,
      );
    }
    return requested;
  };

  /** Which model answers a request: the one named in it, else the user's experiment variant. */
  const plan = (body: PredictBody, now: number, fieldPrefix: string): Planned => {
    const explicit = body.model !== undefined;
    if (body.timestamp_ms !== undefined)
      checkTimestamp(clientClock, scorer, body.timestamp_ms, `${fieldPrefix}timestamp_ms`);
    const variant = explicit ? null : assigner.assign(body.user_id);
    return {
      body,
      request: {
        userId: body.user_id,
        trackId: body.track_id,
        session: toSession(body.session),
        atMs: body.timestamp_ms ?? now,
        explain: body.explain === true,
      },
      variant,
      model: variant ? variant.model : resolveModel(body.model, `${fieldPrefix}model`),
    };
  };

  /** The logged row of one scored decision (served, or a shadow of `shadowOf`). */
  const decisionRow = (
    p: Planned,
    current: Scorer,
    route: string,
    now: number,
    model: string,
    variant: string | null,
    score: Score,
    shadowOf: string | null,
  ): DecisionRow => {
    const threshold = current.threshold(model);
    const decision = decide(score.probSkip, threshold, servedPolicy(current));
    return {
      id: ids.next(now),
      tsMs: now,
      listenMs: p.request.atMs ?? now,
      route,
      experiment: p.variant ? experimentName : null,
      variant,
      model,
      bundleVersion: current.bundleVersion,
      userId: p.body.user_id,
      trackId: p.body.track_id,
      sessionId: p.body.session?.session_id ?? null,
      position: p.body.session?.position ?? null,
      probSkip: score.probSkip,
      threshold,
      decision,
      coldUser: score.coldStart.user,
      coldTrack: score.coldStart.track,
      served: shadowOf === null,
      shadowOf,
    };
  };

  /** Logs a decision with its shadow rows and, once committed (never before), counts them. */
  const commitDecision = async (row: DecisionRow, shadows: DecisionRow[]): Promise<void> => {
    await log.record(row, shadows);
    for (const r of [row, ...shadows]) {
      metrics.countDecision(r.variant ?? NO_VARIANT, r.model, r.decision, r.served);
    }
  };

  /** Variants scored in shadow for a planned request: every other variant when the experiment says so. */
  const shadowVariants = (p: Planned) =>
    p.variant && assigner.config.shadow ? assigner.config.variants.filter((v) => v !== p.variant) : [];

  const predictOne = (body: PredictBody, route: string, now: number) => {
    const p = plan(body, now, "");
    const current = scorer;
    const score = current.score(p.model, p.request);
    const row = decisionRow(p, current, route, now, p.model, p.variant?.name ?? null, score, null);
    const shadows = shadowVariants(p).map((v) =>
      decisionRow(p, current, route, now, v.model, v.name, current.score(v.model, p.request), row.id),
    );
    return { row, shadows, score };
  };

  /** Many requests: each model scores all of its requests in one `scoreBatch` call. */
  const predictMany = (bodies: readonly PredictBody[], route: string, now: number) => {
    const plans = bodies.map((body, i) => plan(body, now, `items.${i}.`));
    const current = scorer;
    const scoreGroups = (jobs: { index: number; model: string }[]): Score[] => {
      const byModel = new Map<string, number[]>();
      jobs.forEach((job, k) => {
        const group = byModel.get(job.model);
        if (group) group.push(k);
        else byModel.set(job.model, [k]);
      });
      const out: Score[] = new Array(jobs.length);
      for (const [model, ks] of byModel) {
        const scores = current.scoreBatch(
          model,
          ks.map((k) => plans[jobs[k].index].request),
        );
        ks.forEach((k, j) => {
          out[k] = scores[j];
        });
      }
      return out;
    };
    const servedScores = scoreGroups(plans.map((p, index) => ({ index, model: p.model })));
    const shadowJobs = plans.flatMap((p, index) =>
      shadowVariants(p).map((variant) => ({ index, model: variant.model, variant })),
    );
    const shadowScores = scoreGroups(shadowJobs);
    const results = plans.map((p, i) => ({
      row: decisionRow(p, current, route, now, p.model, p.variant?.name ?? null, servedScores[i], null),
      shadows: [] as DecisionRow[],
      score: servedScores[i],
    }));
    shadowJobs.forEach((job, k) => {
      const result = results[job.index];
      const { variant } = job;
      result.shadows.push(
        decisionRow(
          plans[job.index],
          current,
          route,
          now,
          variant.model,
          variant.name,
          shadowScores[k],
          result.row.id,
        ),
      );
    });
    return results;
  };

  const answer = (row: DecisionRow, score: Score) => ({
    decision_id: row.id,
    model: row.model,
    model_version: row.bundleVersion,
    experiment: row.experiment,
    variant: row.variant,
    prob_skip: row.probSkip,
    threshold: row.threshold,
    decision: row.decision,
    prediction: row.decision,
    cold_start: score.coldStart,
    ...(score.features ? { features: namedFeatures(score.features) } : {}),
  });

  // Reference routes: same bodies and answers as the reference service, so existing clients keep working.
  const referencePrediction = async (model: string, body: ReferenceBody, route: string) => {
    const { row, shadows } = predictOne({ ...body, model }, route, Date.now());
    await commitDecision(row, shadows);
    return { prediction: row.decision };
  };

  app.post<{ Body: ReferenceBody }>(
    "/naive",
    { schema: { ...referenceSchema, summary: "Naive genre rule" } },
    (req) => {
      if (!scorer.modelNames.includes("naive")) {
        throw new RequestError(404, `the bundle ${scorer.bundleVersion} has no "naive" model`);
      }
      return referencePrediction("naive", req.body, "/naive");
    },
  );

  app.post<{ Body: ReferenceBody }>(
    "/recommend",
    { schema: { ...referenceSchema, summary: "The bundle's default model" } },
    (req) => referencePrediction(scorer.defaultModel, req.body, "/recommend"),
  );

  app.post<{ Body: ReferenceBody }>("/abtest", { schema: abtestSchema }, async (req) => {
    const { row, shadows } = predictOne(req.body, "/abtest", Date.now());
    await commitDecision(row, shadows);
    return { model: row.model, prediction: row.decision, variant: row.variant, decision_id: row.id };
  });

  app.post<{ Body: PredictBody }>("/v1/predict", { schema: predictSchema }, async (req) => {
    const { row, shadows, score } = predictOne(req.body, "/v1/predict", Date.now());
    await commitDecision(row, shadows);
    return answer(row, score);
  });

  app.post<{ Body: { items: PredictBody[] } }>(
    "/v1/predict/batch",
    { schema: predictBatchSchema },
    async (req) => {
      const now = Date.now();
      const results = predictMany(req.body.items, "/v1/predict/batch", now);
      // One group commit: every record joins the same batch, so awaiting them all costs one transaction.
      await Promise.all(results.map(({ row, shadows }) => commitDecision(row, shadows)));
      return { predictions: results.map(({ row, score }) => answer(row, score)) };
    },
  );

  app.post<{ Body: FeedbackBody }>("/v1/feedback", { schema: feedbackSchema }, async (req) => {
    const body = req.body;
    let logged: LoggedDecision | null;
    if (body.decision_id !== undefined) {
      logged = log.find(body.decision_id);
      if (!logged)
        throw new RequestError(404, `no decision with decision_id "${body.decision_id}"`, "decision_id");
    } else {
      if (body.user_id === undefined) {
        throw new RequestError(400, 'field "user_id" is required when "decision_id" is absent', "user_id");
      }
      if (body.track_id === undefined) {
        throw new RequestError(400, 'field "track_id" is required when "decision_id" is absent', "track_id");
      }
      logged = log.findOpenListen(body.user_id, body.track_id, body.session_id ?? null);
      if (!logged) {
        metrics.countUnmatchedFeedback();
        throw new RequestError(
          404,
          `no open decision for user ${body.user_id}, track "${body.track_id}"${body.session_id === undefined ? "" : `, session ${body.session_id}`} among the last ${log.openListenCapacity} decisions: send its decision_id, or the listen's events to POST /v1/events`,
          "track_id",
        );
      }
    }
    if (logged.hasFeedback || log.feedbackInFlight(logged.row.id)) {
      throw new RequestError(409, `decision "${logged.row.id}" already has feedback`, "decision_id");
    }
    const { row } = logged;
    const current = scorer;
    const skipped = body.outcome === "skipped";
    const durationMs = current.trackDurationMs(row.trackId);
    const heardMs = body.heard_ms ?? Number.NaN;
    if (heardMs > durationMs + HEARD_SLACK_MS) {
      throw new RequestError(
        400,
        `field "heard_ms" (${heardMs}) exceeds the track's duration (${durationMs} ms)`,
        "heard_ms",
      );
    }
    // The listen started when it was predicted, unless the client says otherwise.
    const startMs = body.timestamp_ms ?? row.listenMs;
    if (body.timestamp_ms !== undefined)
      checkTimestamp(clientClock, current, body.timestamp_ms, "timestamp_ms");
    const outcome: ListenOutcome = {
      userId: row.userId,
      trackId: row.trackId,
      skipped,
      heardMs,
      atMs: startMs,
    };
    if (row.sessionId !== null) outcome.sessionId = row.sessionId;
    if (row.position !== null) outcome.position = row.position;
    // Learned, counted and marked as answered only once committed (the log's onLearned teaches the state).
    await log.recordFeedback(
      {
        decisionId: row.id,
        tsMs: Date.now(),
        userId: row.userId,
        trackId: row.trackId,
        sessionId: row.sessionId,
        skipped,
        heardMs,
        durationMs,
      },
      logged,
      { origin: current.stateOrigin, outcome },
    );
    metrics.countOutcome(
      { variant: row.variant ?? NO_VARIANT, model: row.model, predicted: row.decision, skipped },
      false,
      heardMs,
      durationMs,
    );
    for (const shadow of logged.shadows) {
      const labels = {
        variant: shadow.variant ?? NO_VARIANT,
        model: shadow.model,
        predicted: shadow.decision,
      };
      metrics.countOutcome({ ...labels, skipped }, true, heardMs, durationMs);
    }
    return { decision_id: row.id, matched: true, correct: (row.decision === "SKIP") === skipped };
  });

  app.post<{ Body: { events: unknown[] } }>("/v1/events", { schema: eventsSchema }, async (req) => {
    // Every record is checked before any is applied: a refused batch changes nothing.
    const current = scorer;
    const records = req.body.events.map((value, i) => {
      try {
        const record = normalizeEventRecord(value);
        checkTimestamp(clientClock, current, record.timestampMs, `events.${i}.timestamp`);
        return record;
      } catch (error) {
        if (error instanceof EventRecordError) {
          const field = error.field ? `events.${i}.${error.field}` : `events.${i}`;
          throw new RequestError(400, `${field}: ${error.message}`, field);
        }
        throw error;
      }
    });
    // Journaled first; the log's onLearned applies them to the state once committed.
    const { learned, repeats } = await log.recordEvents(records, current.stateOrigin);
    return { accepted: records.length, learned, repeats };
  });

  app.get("/health", { schema: healthSchema }, () => ({ status: "ok" }));

  app.get("/ready", { schema: readySchema }, (_req, reply) => {
    if (log.isClosed) return reply.code(503).send({ status: "closing" });
    if (!log.checkWritable()) {
      const problem = log.problem;
      return reply.code(503).send({
        status: problem?.kind === "corrupt" ? "decision log corrupt" : "decision log not writable",
        message: problem?.message,
        bundle_version: scorer.bundleVersion,
      });
    }
    return {
      status: "ready",
      bundle_version: scorer.bundleVersion,
      bundle_dir: bundleDir,
      state_clock_ms: Number.isFinite(scorer.stateClockMs) ? scorer.stateClockMs : null,
      models: [...scorer.modelNames],
      policy: { ...scorer.policy, decisions: decisionsBy },
    };
  });

  app.get("/metrics", { schema: metricsSchema }, async (_req, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.post<{ Body: { bundle?: string } | null }>("/admin/reload", { schema: reloadSchema }, async (req) => {
    checkApiKey(options.apiKey, req);
    try {
      const result = await reload(req.body?.bundle);
      return {
        status: "reloaded",
        bundle_version: result.bundleVersion,
        previous_version: result.previousVersion,
        online_state: result.onlineState,
        relearned_items: result.relearnedItems,
        models: [...scorer.modelNames],
      };
    } catch (error) {
      if (error instanceof BundleRefusedError) throw new RequestError(422, error.message, "bundle");
      throw error;
    }
  });

  return app;
}

/** A scored vector by feature name; NaN (a missing value) becomes null in JSON. */
function namedFeatures(values: Float32Array): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  FEATURE_SCHEMA.names.forEach((name, i) => {
    out[name] = Number.isNaN(values[i]) ? null : values[i];
  });
  return out;
}

/** Constant-time comparison, so response timing does not reveal how much of a guessed key matched. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

function checkApiKey(expected: string | undefined, request: FastifyRequest): void {
  if (!expected) throw new RequestError(403, "admin routes are disabled: start the server with an API key");
  const given = request.headers["x-api-key"];
  if (typeof given !== "string" || !sameSecret(given, expected)) {
    throw new RequestError(401, 'missing or wrong "x-api-key" header', "x-api-key");
  }
}
