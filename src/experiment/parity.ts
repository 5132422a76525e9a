// Training/serving parity against a live service: the period after the bundle's training end is sent as
// the delivery's raw session events (POST /v1/events) with a prediction (POST /v1/predict, explain) just
// before each play, and every served vector and probability is compared with the offline row of
// buildDataset and the bundle model's predictProba for the same listen.
import { createHash } from "node:crypto";
import type { Delivery } from "../data/index.ts";
import { EVENT_KINDS, EventCode } from "../data/types.ts";
import { FEATURE_SCHEMA } from "../features/index.ts";
import { buildListens, eventTimeOrder } from "../listens/index.ts";
import { loadBundle } from "../models/bundle.ts";
import { buildDataset } from "../train/dataset.ts";
import { selectRows } from "../train/split.ts";
import type { ServiceClient } from "./http-client.ts";

export interface ParityOptions {
  /** The service; several = replicas of one service, each request sent to one of them at random. */
  client: ServiceClient | readonly ServiceClient[];
  /** Seed of the random spread over several services (default 1). */
  seed?: number;
  delivery: Delivery;
  bundleDir: string;
  /** Replay from this time (epoch ms); default: the bundle's recorded test start (its training end). */
  fromMs?: number;
  /** Models to compare; default: every model of the bundle. */
  models?: readonly string[];
  /** Largest |served − offline| P(skip) that still counts as equal (default 1e-9). */
  probTolerance?: number;
  /** Events per POST /v1/events (default 1000). */
  eventBatch?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface ParityMismatch {
  row: number;
  userId: number;
  trackId: string;
  startMs: number;
  feature: string;
  served: number | null;
  offline: number | null;
}

export interface ParityResult {
  bundleVersion: string;
  models: string[];
  fromMs: number;
  listens: number;
  events: number;
  /** Listens with at least one differing feature or a probability beyond the tolerance. */
  mismatchedListens: number;
  /** Per feature: listens whose served value differs from the offline one. */
  featureMismatches: Record<string, number>;
  /** Per model: listens whose served P(skip) is beyond the tolerance, and the largest difference. */
  probMismatches: Record<string, number>;
  maxProbDiff: Record<string, number>;
  /** The first few differences, for the report. */
  examples: ParityMismatch[];
  /**
   * sha256 of every answer's probability, decision, threshold and cold-start flags, in replay order: two
   * services fed the same stream answered the same iff their digests are equal.
   */
  answerDigest: string;
  /** Requests sent to each service (one entry per service). */
  requestsPerService: number[];
}

interface PredictAnswer {
  prob_skip: number;
  decision: string;
  threshold: number;
  cold_start: { user: boolean; track: boolean };
  features?: Record<string, number | null>;
}

/** Park–Miller: the spread over replicas is reproducible from its seed. */
function seededPick(n: number, seed: number): () => number {
  let s = (Math.abs(Math.floor(seed)) % 2147483646) + 1;
  return () => {
    s = (s * 48271) % 2147483647;
    return s % n;
  };
}

/** Float32 values arrive as the shortest double that reads back as them: equal means bit-equal as float32. */
function sameValue(served: number | null | undefined, offline: number): boolean {
  if (served === null || served === undefined) return Number.isNaN(offline);
  return Math.fround(served) === offline;
}

export async function checkParity(options: ParityOptions): Promise<ParityResult> {
  const { delivery } = options;
  const clients: readonly ServiceClient[] = Array.isArray(options.client)
    ? options.client
    : [options.client as ServiceClient];
  if (clients.length === 0) throw new Error("parity needs at least one service");
  const pick = seededPick(clients.length, options.seed ?? 1);
  const requestsPerService = clients.map(() => 0);
  /** The service for the next request. */
  const next = (): ServiceClient => {
    const k = clients.length === 1 ? 0 : pick();
    requestsPerService[k]++;
    return clients[k];
  };
  const digest = createHash("sha256");
  const bundle = loadBundle(options.bundleDir, { expectedSchema: FEATURE_SCHEMA });
  const { manifest } = bundle;
  const localVersion = bundle.version;
  const readies = await Promise.all(
    clients.map((client) =>
      client.get<{ status: string; bundle_version?: string; state_clock_ms?: number | null }>("/ready"),
    ),
  );
  for (const ready of readies) {
    if (ready.body.bundle_version !== localVersion) {
      throw new Error(
        `the service serves bundle ${String(ready.body.bundle_version)}, but ${options.bundleDir} is ${localVersion}: compare against the bundle it serves`,
      );
    }
  }
  const models = [...(options.models ?? Object.keys(bundle.models))];
  for (const name of models) {
    if (!bundle.models[name]) throw new Error(`bundle ${options.bundleDir} has no model "${name}"`);
  }
  const recorded = Date.parse(String(manifest.metrics.testStart ?? ""));
  const fromMs = options.fromMs ?? recorded;
  if (!Number.isFinite(fromMs)) {
    throw new Error(`bundle ${options.bundleDir} records no test start: pass --from <time>`);
  }
  const clock = Math.max(...readies.map((ready) => ready.body.state_clock_ms ?? Number.NEGATIVE_INFINITY));
  if (clock >= fromMs) {
    throw new Error(
      `the service's feature state has already seen ${new Date(clock).toISOString()}, at or after ${new Date(fromMs).toISOString()}: what it learned online is journaled in its decision log and survives reloads and restarts, so start a service on a fresh --db, then check parity`,
    );
  }

  const { events, catalog } = delivery;
  const listens = buildListens(events, catalog);
  const dataset = buildDataset(listens, catalog, { events });
  let firstRow = 0;
  while (firstRow < listens.length && listens.startMs[firstRow] < fromMs) firstRow++;
  const rows = Int32Array.from({ length: listens.length - firstRow }, (_, k) => firstRow + k);
  if (rows.length === 0)
    throw new Error(`no listen of ${delivery.dir} starts at or after ${new Date(fromMs).toISOString()}`);
  const X = selectRows(dataset.X, rows);
  const offlineP = models.map((name) => bundle.models[name].predictProba(X));

  const names = FEATURE_SCHEMA.names;
  const cols = names.length;
  const featureMismatches: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const examples: ParityMismatch[] = [];
  const tolerance = options.probTolerance ?? 1e-9;
  const batchSize = Math.max(1, options.eventBatch ?? 1000);
  let mismatchedListens = 0;
  const probMismatches: Record<string, number> = Object.fromEntries(models.map((m) => [m, 0]));
  const maxProbDiff: Record<string, number> = Object.fromEntries(models.map((m) => [m, 0]));
  let pending: Record<string, unknown>[] = [];
  let sentEvents = 0;
  const flush = async () => {
    for (let i = 0; i < pending.length; i += batchSize) {
      await next().post("/v1/events", { events: pending.slice(i, i + batchSize) });
    }
    sentEvents += pending.length;
    pending = [];
  };

  const order = eventTimeOrder(events.sessionId, events.timestampMs, events.length);
  let row = firstRow;
  for (const e of order) {
    const t = events.timestampMs[e];
    if (t < fromMs) continue;
    const track = events.trackIndex[e];
    const trackId = track >= 0 ? catalog.tracks[track].id : null;
    if (events.kind[e] === EventCode.play && track >= 0) {
      await flush();
      const item = {
        user_id: events.userId[e],
        track_id: trackId,
        session: { session_id: events.sessionId[e] },
        timestamp_ms: t,
        explain: true,
      };
      const answer = await next().post<{ predictions: PredictAnswer[] }>("/v1/predict/batch", {
        items: models.map((model) => ({ ...item, model })),
      });
      const k = row - firstRow;
      let differs = false;
      answer.body.predictions.forEach((prediction, m) => {
        const c = prediction.cold_start;
        digest.update(
          `${prediction.prob_skip}|${prediction.decision}|${prediction.threshold}|${c.user ? 1 : 0}${c.track ? 1 : 0}\n`,
        );
        const served = prediction.features ?? {};
        for (let j = 0; j < cols; j++) {
          const offline = dataset.X.data[row * cols + j];
          if (sameValue(served[names[j]], offline)) continue;
          differs = true;
          if (m > 0) continue; // every model scores the same vector: count it once
          featureMismatches[names[j]]++;
          if (examples.length < 20) {
            examples.push({
              row,
              userId: events.userId[e],
              trackId: trackId as string,
              startMs: t,
              feature: names[j],
              served: served[names[j]] ?? null,
              offline: Number.isNaN(offline) ? null : offline,
            });
          }
        }
        const name = models[m];
        const diff = Math.abs(prediction.prob_skip - offlineP[m][k]);
        if (!(diff <= tolerance)) {
          probMismatches[name]++;
          differs = true;
        }
        if (!(diff <= maxProbDiff[name])) maxProbDiff[name] = diff;
      });
      if (differs) mismatchedListens++;
      row++;
      options.onProgress?.(row - firstRow, rows.length);
    }
    pending.push({
      session_id: events.sessionId[e],
      timestamp: t,
      user_id: events.userId[e],
      track_id: trackId,
      event_type: EVENT_KINDS[events.kind[e]],
    });
  }
  await flush();
  return {
    bundleVersion: localVersion,
    models,
    fromMs,
    listens: rows.length,
    events: sentEvents,
    mismatchedListens,
    featureMismatches,
    probMismatches,
    maxProbDiff,
    examples,
    answerDigest: digest.digest("hex"),
    requestsPerService,
  };
}

/** The terminal report; the first line says whether the service reproduces training. */
export function formatParity(result: ParityResult): string[] {
  const differing = Object.entries(result.featureMismatches).filter(([, n]) => n > 0);
  const ok = result.mismatchedListens === 0;
  const lines = [
    `${ok ? "parity: OK" : "parity: MISMATCH"}: ${result.listens.toLocaleString("en-US")} listens compared (${result.events.toLocaleString("en-US")} events replayed from ${new Date(result.fromMs).toISOString()}), bundle ${result.bundleVersion}`,
    `  listens with a difference: ${result.mismatchedListens}`,
    ...result.models.map(
      (m) =>
        `  ${m.padEnd(10)} largest |served − offline| P(skip) ${result.maxProbDiff[m].toExponential(2)}, ${result.probMismatches[m]} listens beyond tolerance`,
    ),
    differing.length === 0
      ? `  feature mismatches: 0 in each of ${Object.keys(result.featureMismatches).length} features`
      : `  feature mismatches: ${differing.map(([name, n]) => `${name} ${n}`).join(", ")}`,
  ];
  lines.push(
    `  answers digest ${result.answerDigest.slice(0, 16)} (probabilities, decisions, thresholds, cold starts)`,
  );
  if (result.requestsPerService.length > 1)
    lines.push(`  requests per service: ${result.requestsPerService.join(", ")} (spread at random)`);
  for (const m of result.examples.slice(0, 5)) {
    lines.push(
      `  e.g. listen ${m.row} (user ${m.userId}, track ${m.trackId}, ${new Date(m.startMs).toISOString()}): ${m.feature} served ${m.served} vs offline ${m.offline}`,
    );
  }
  return lines;
}
