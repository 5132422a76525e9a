// Offline A/B test: replays a delivery's test-period listens against a live prediction service in time
// order (one user's listens strictly one after another, different users concurrently), posting each
// listen's real outcome as feedback right after its prediction, so the service's decision log ends up
// holding decisions joined with outcomes.
import { percent as pct } from "../base/format.ts";
import type { Catalog } from "../data/types.ts";
import type { ListenTable } from "../listens/types.ts";
import { timeSplit } from "../train/split.ts";
import { type RetryPolicy, ServiceClient, ServiceError } from "./http-client.ts";

export type ReplayRoute = "abtest" | "v1";

/** One listen to replay: what the client knows before it starts, and what then happened. */
export interface ReplayListen {
  userId: number;
  trackId: string;
  sessionId: number;
  /** 0-based position in the session. */
  position: number;
  startMs: number;
  /** Outcome of the previous listen of the session; null at its first listen. */
  previousSkipped: boolean | null;
  skipped: boolean;
  /** NaN when unknown. */
  heardMs: number;
}

export interface ReplaySelection {
  listens: ReplayListen[];
  /** Start of the replayed period (epoch ms). */
  fromMs: number;
  /** Listens of the delivery at or after `fromMs` (before `limit`). */
  available: number;
}

/** Start of the last 20 % of listens by time, as the training pipeline's time split computes it. */
export function defaultReplayStart(listens: ListenTable): number {
  return timeSplit(listens.startMs).testStartMs;
}

/**
 * The listens starting at or after `fromMs` (default: the test period's start), in time order, at most
 * `limit` of them. The previous outcome comes from the whole table, so a session that straddles the
 * boundary keeps its context.
 */
export function selectReplayListens(
  listens: ListenTable,
  catalog: Catalog,
  options: { fromMs?: number; limit?: number } = {},
): ReplaySelection {
  const fromMs = options.fromMs ?? defaultReplayStart(listens);
  if (!Number.isFinite(fromMs))
    throw new Error("no test period: the delivery has too few listens to split by time");
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  // Previous listen of each session, whatever the table's tie order: by (session, position).
  const lastOutcome = new Map<number, { position: number; skipped: boolean }>();
  const previous = new Int8Array(listens.length).fill(-1);
  const order = Array.from({ length: listens.length }, (_, i) => i).sort(
    (a, b) => listens.sessionId[a] - listens.sessionId[b] || listens.position[a] - listens.position[b],
  );
  for (const i of order) {
    const last = lastOutcome.get(listens.sessionId[i]);
    if (last && last.position === listens.position[i] - 1) previous[i] = last.skipped ? 1 : 0;
    lastOutcome.set(listens.sessionId[i], {
      position: listens.position[i],
      skipped: listens.skipped[i] === 1,
    });
  }
  const out: ReplayListen[] = [];
  let available = 0;
  for (let i = 0; i < listens.length; i++) {
    if (!(listens.startMs[i] >= fromMs)) continue;
    available++;
    if (out.length >= limit) continue;
    const track = catalog.tracks[listens.trackIndex[i]];
    if (!track)
      throw new RangeError(`listen ${i}: track index ${listens.trackIndex[i]} is not in the catalogue`);
    out.push({
      userId: listens.userId[i],
      trackId: track.id,
      sessionId: listens.sessionId[i],
      position: listens.position[i],
      startMs: listens.startMs[i],
      previousSkipped: previous[i] === -1 ? null : previous[i] === 1,
      skipped: listens.skipped[i] === 1,
      heardMs: listens.heardMs[i],
    });
  }
  return { listens: out, fromMs, available };
}

export interface ReplayOptions {
  url: string;
  route?: ReplayRoute;
  /** Users replayed at the same time (default 32). */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  /** Called after every completed listen. */
  onProgress?: (done: number, total: number) => void;
}

export interface VariantTally {
  decisions: number;
  withFeedback: number;
  correct: number;
}

export interface ReplaySummary {
  url: string;
  route: ReplayRoute;
  bundleVersion: string | null;
  listens: number;
  /** Prediction requests sent (one per listen). */
  sent: number;
  /** Predictions answered. */
  answered: number;
  /** Feedback posts that matched a logged decision. */
  feedback: number;
  /** Listens that failed for good (5xx after retries, or network errors after retries). */
  errors: number;
  /** Retries spent over all requests. */
  retries: number;
  /** Successful HTTP requests (predictions + feedback). */
  requests: number;
  elapsedSeconds: number;
  requestsPerSecond: number;
  /** Share of decisions with feedback whose prediction was right. */
  accuracy: number;
  byVariant: Record<string, VariantTally>;
  /** First few error messages, for the summary. */
  errorSamples: string[];
}

interface PredictAnswer {
  decision_id: string;
  prediction: "PLAY" | "SKIP";
  variant?: string | null;
  model?: string;
}

interface FeedbackAnswer {
  decision_id: string | null;
  matched: boolean;
  correct: boolean | null;
}

function predictBody(listen: ReplayListen, route: ReplayRoute): object {
  if (route === "abtest") return { user_id: listen.userId, track_id: listen.trackId };
  return {
    user_id: listen.userId,
    track_id: listen.trackId,
    session: {
      session_id: listen.sessionId,
      position: listen.position,
      previous_outcome:
        listen.previousSkipped === null ? null : listen.previousSkipped ? "skipped" : "played",
    },
    timestamp_ms: Math.round(listen.startMs),
  };
}

function feedbackBody(listen: ReplayListen, decisionId: string): object {
  const body: Record<string, unknown> = {
    decision_id: decisionId,
    outcome: listen.skipped ? "skipped" : "played",
    timestamp_ms: Math.round(listen.startMs),
  };
  if (Number.isFinite(listen.heardMs) && listen.heardMs >= 0) body.heard_ms = listen.heardMs;
  return body;
}

/**
 * Hands out listens in time order while never giving out two listens of the same user at once: a
 * listen whose user is busy waits in that user's backlog and is handed out, before newer listens, as
 * soon as the user's previous listen completes.
 */
export class UserOrderedQueue {
  private cursor = 0;
  private readonly busy = new Set<number>();
  private readonly backlog = new Map<number, number[]>();
  private readonly ready: number[] = [];
  private waiters: (() => void)[] = [];
  private inFlight = 0;

  constructor(
    private readonly userOf: (index: number) => number,
    private readonly length: number,
  ) {}

  /** Next listen index to send, or -1 when every listen has been handed out and completed. */
  async take(): Promise<number> {
    for (;;) {
      const next = this.next();
      if (next >= 0) {
        this.inFlight++;
        return next;
      }
      if (this.inFlight === 0 && this.ready.length === 0 && this.cursor >= this.length) return -1;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Marks a listen complete: its user's next waiting listen becomes ready. */
  done(index: number): void {
    this.inFlight--;
    const user = this.userOf(index);
    const waiting = this.backlog.get(user);
    if (waiting && waiting.length > 0) {
      this.ready.push(waiting.shift() as number);
      if (waiting.length === 0) this.backlog.delete(user);
    } else {
      this.busy.delete(user);
    }
    const wake = this.waiters;
    this.waiters = [];
    for (const w of wake) w();
  }

  private next(): number {
    if (this.ready.length > 0) return this.ready.shift() as number;
    while (this.cursor < this.length) {
      const index = this.cursor++;
      const user = this.userOf(index);
      if (this.busy.has(user)) {
        const waiting = this.backlog.get(user);
        if (waiting) waiting.push(index);
        else this.backlog.set(user, [index]);
        continue;
      }
      this.busy.add(user);
      return index;
    }
    return -1;
  }
}

/** A 4xx answer (or a failure retrying could not fix) that makes the rest of the replay pointless. */
export class ReplayAbortedError extends Error {
  constructor(
    message: string,
    readonly summary: ReplaySummary,
  ) {
    super(message);
    this.name = "ReplayAbortedError";
  }
}

/** Replays `listens` against the service; resolves with the summary, or rejects with `ReplayAbortedError` on a 4xx. */
export async function replayAgainstService(
  listens: readonly ReplayListen[],
  options: ReplayOptions,
): Promise<ReplaySummary> {
  const route = options.route ?? "v1";
  const concurrency = options.concurrency ?? 32;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new RangeError(`concurrency must be an integer ≥ 1, got ${concurrency}`);
  }
  const client = new ServiceClient(options.url, { retry: options.retry, maxSockets: concurrency });
  try {
    return await replayWith(client, listens, options, route, concurrency);
  } finally {
    client.close();
  }
}

async function replayWith(
  client: ServiceClient,
  listens: readonly ReplayListen[],
  options: ReplayOptions,
  route: ReplayRoute,
  concurrency: number,
): Promise<ReplaySummary> {
  const summary: ReplaySummary = {
    url: client.baseUrl,
    route,
    bundleVersion: null,
    listens: listens.length,
    sent: 0,
    answered: 0,
    feedback: 0,
    errors: 0,
    retries: 0,
    requests: 0,
    elapsedSeconds: 0,
    requestsPerSecond: 0,
    accuracy: Number.NaN,
    byVariant: {},
    errorSamples: [],
  };
  const ready = await client.get<{ status: string; bundle_version?: string }>("/ready");
  summary.retries += ready.retries;
  summary.bundleVersion = ready.body?.bundle_version ?? null;

  const predictRoute = route === "abtest" ? "/abtest" : "/v1/predict";
  const queue = new UserOrderedQueue((i) => listens[i].userId, listens.length);
  const started = performance.now();
  let completed = 0;
  let correct = 0;
  let aborted: Error | null = null;

  const tally = (variant: string): VariantTally => {
    let t = summary.byVariant[variant];
    if (!t) {
      t = { decisions: 0, withFeedback: 0, correct: 0 };
      summary.byVariant[variant] = t;
    }
    return t;
  };

  const replayOne = async (listen: ReplayListen): Promise<void> => {
    summary.sent++;
    const predicted = await client.post<PredictAnswer>(predictRoute, predictBody(listen, route));
    summary.retries += predicted.retries;
    summary.requests++;
    summary.answered++;
    const variantTally = tally(predicted.body.variant ?? predicted.body.model ?? "(none)");
    variantTally.decisions++;
    // 409 = the decision already has feedback: a retried post whose first attempt did arrive.
    const fed = await client.request<FeedbackAnswer>(
      "POST",
      "/v1/feedback",
      feedbackBody(listen, predicted.body.decision_id),
      [409],
    );
    summary.retries += fed.retries;
    summary.requests++;
    if (fed.status === 409 && fed.retries === 0) {
      throw new ServiceError(
        `feedback for decision ${predicted.body.decision_id} refused: already has feedback`,
        409,
        "/v1/feedback",
        fed.body,
      );
    }
    summary.feedback++;
    variantTally.withFeedback++;
    const right =
      fed.status === 409 ? (predicted.body.prediction === "SKIP") === listen.skipped : fed.body.correct;
    if (right) {
      variantTally.correct++;
      correct++;
    }
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      if (aborted) return;
      const index = await queue.take();
      if (index < 0 || aborted) return;
      try {
        await replayOne(listens[index]);
      } catch (error) {
        const status = error instanceof ServiceError ? error.status : null;
        if (error instanceof ServiceError) summary.retries += error.retries;
        if (status !== null && status >= 400 && status < 500) {
          aborted ??= error as Error;
        } else {
          summary.errors++;
          if (summary.errorSamples.length < 5) summary.errorSamples.push((error as Error).message);
        }
      } finally {
        queue.done(index);
        completed++;
        options.onProgress?.(completed, listens.length);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, listens.length)) }, worker));

  summary.elapsedSeconds = (performance.now() - started) / 1000;
  summary.requestsPerSecond = summary.elapsedSeconds > 0 ? summary.requests / summary.elapsedSeconds : 0;
  summary.accuracy = summary.feedback > 0 ? correct / summary.feedback : Number.NaN;
  if (aborted) {
    throw new ReplayAbortedError(
      `replay stopped: ${(aborted as Error).message} (a 4xx answer is not transient; check --url, --route and that the service runs the bundle of this delivery)`,
      summary,
    );
  }
  return summary;
}

/** Terminal lines for a finished replay. */
export function replaySummaryLines(s: ReplaySummary): string[] {
  const lines = [
    `replayed ${s.listens.toLocaleString("en-US")} listens to ${s.url} (${s.route === "abtest" ? "/abtest" : "/v1/predict"}, bundle ${s.bundleVersion ?? "unknown"})`,
    `sent ${s.sent}, answered ${s.answered}, feedback ${s.feedback}, errors ${s.errors}, retries ${s.retries}; ` +
      `${s.requests} requests in ${s.elapsedSeconds.toFixed(1)} s = ${s.requestsPerSecond.toFixed(0)} req/s`,
    `accuracy seen: ${pct(s.accuracy)}`,
  ];
  for (const [variant, t] of Object.entries(s.byVariant).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(
      `  ${variant}: ${t.decisions} decisions, accuracy ${pct(t.withFeedback > 0 ? t.correct / t.withFeedback : Number.NaN)}`,
    );
  }
  for (const sample of s.errorSamples) lines.push(`  error: ${sample}`);
  return lines;
}

export interface ReplayCommandOptions {
  url: string;
  data: string;
  /** ISO time; default: the start of the last 20 % of listens by time. */
  from?: string;
  route?: string;
  concurrency?: number;
  limit?: number;
  stdout?: NodeJS.WritableStream;
  /** Progress bar target; shown only when it is a TTY (default process.stderr). */
  stderr?: NodeJS.WriteStream;
}

export function parseFromTime(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms))
    throw new Error(`--from must be an ISO time such as 2023-03-01T00:00:00Z, got "${text}"`);
  return ms;
}

export function parseRoute(text: string | undefined): ReplayRoute {
  const route = text ?? "v1";
  if (route !== "abtest" && route !== "v1")
    throw new Error(`--route must be "abtest" or "v1", got "${route}"`);
  return route;
}

/** `skipwise abtest replay`. */
export async function runReplayCommand(options: ReplayCommandOptions): Promise<ReplaySummary> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const route = parseRoute(options.route);
  const fromMs = parseFromTime(options.from);
  const { loadDelivery } = await import("../data/index.ts");
  const { buildListens } = await import("../listens/index.ts");
  const delivery = await loadDelivery(options.data);
  const table = buildListens(delivery.events, delivery.catalog);
  const selection = selectReplayListens(table, delivery.catalog, { fromMs, limit: options.limit });
  stdout.write(
    `replaying ${selection.listens.length.toLocaleString("en-US")} of ${selection.available.toLocaleString("en-US")} listens from ` +
      `${new Date(selection.fromMs).toISOString()}${options.from === undefined ? " (start of the last 20 % of listens)" : ""}\n`,
  );
  // A bar on a terminal, nothing in logs: stdout carries the summary.
  const { stageProgress } = await import("../base/progress.ts");
  const progress = stageProgress(stderr, { unit: "listens", logs: false });
  if (stderr.isTTY) progress.update("replay", 0, selection.listens.length);
  try {
    const summary = await replayAgainstService(selection.listens, {
      url: options.url,
      route,
      concurrency: options.concurrency,
      onProgress: stderr.isTTY ? (done, total) => progress.update("replay", done, total) : undefined,
    });
    progress.stop();
    stdout.write(`${replaySummaryLines(summary).join("\n")}\n`);
    return summary;
  } catch (error) {
    progress.stop();
    if (error instanceof ReplayAbortedError)
      stdout.write(`${replaySummaryLines(error.summary).join("\n")}\n`);
    throw error;
  }
}
