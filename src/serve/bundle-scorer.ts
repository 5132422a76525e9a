// Scorer over the real pipeline: the bundle's FeatureState (kept learning online from feedback) and its
// fitted models. One reusable feature row per scorer: the server scores one request at a time.
import { resolve } from "node:path";
import type { EventRecord } from "../data/event-record.ts";
import { loadCatalog } from "../data/index.ts";
import { type Catalog, EventCode } from "../data/types.ts";
import { FEATURE_SCHEMA, type FeatureQuery, FeatureState } from "../features/index.ts";
import { BundleError, loadBundle, readTrainedOn, servedThreshold } from "../models/bundle.ts";
import type { Model, ModelExtras } from "../models/types.ts";
import type { ListenOutcome, Score, ScoreRequest, Scorer, ServedPolicy } from "./scorer.ts";

export interface ServedModel {
  name: string;
  model: Model & ModelExtras;
  /** SKIP when P(skip) >= threshold. */
  threshold: number;
}

export interface BundleParts {
  version: string;
  catalog: Catalog;
  state: FeatureState;
  models: readonly ServedModel[];
  defaultModel: string;
  /** Absent (bundles written before the policy was recorded): the default model at its threshold. */
  policy?: ServedPolicy;
  /** Identity of the feature-state snapshot the state started from (default: the version). */
  stateOrigin?: string;
}

export class BundleScorer implements Scorer {
  readonly bundleVersion: string;
  readonly modelNames: readonly string[];
  readonly defaultModel: string;
  readonly policy: ServedPolicy;
  readonly stateOrigin: string;
  readonly state: FeatureState;
  private readonly catalog: Catalog;
  private readonly models = new Map<string, ServedModel>();
  private readonly row = new Float32Array(FEATURE_SCHEMA.names.length);
  private readonly matrix = { rows: 1, cols: FEATURE_SCHEMA.names.length, data: this.row };
  private readonly query: FeatureQuery = { userId: 0, trackId: "", timestampMs: 0 };

  constructor(parts: BundleParts) {
    if (parts.models.length === 0) throw new Error(`bundle ${parts.version} holds no model`);
    for (const served of parts.models) {
      if (!(served.threshold >= 0 && served.threshold <= 1)) {
        throw new Error(
          `bundle ${parts.version}: model "${served.name}" has threshold ${served.threshold}, not in [0, 1]`,
        );
      }
      this.models.set(served.name, served);
    }
    if (!this.models.has(parts.defaultModel)) {
      throw new Error(
        `bundle ${parts.version}: default model "${parts.defaultModel}" is not among its models`,
      );
    }
    const policy = parts.policy ?? {
      kind: "model",
      model: parts.defaultModel,
      threshold: this.models.get(parts.defaultModel)?.threshold ?? null,
    };
    if (policy.kind === "model" && (policy.model === null || !this.models.has(policy.model))) {
      throw new Error(`bundle ${parts.version}: policy model "${policy.model}" is not among its models`);
    }
    this.policy = { kind: policy.kind, model: policy.model, threshold: policy.threshold };
    this.bundleVersion = parts.version;
    this.stateOrigin = parts.stateOrigin ?? parts.version;
    this.modelNames = [...this.models.keys()];
    this.defaultModel = parts.defaultModel;
    this.state = parts.state;
    this.catalog = parts.catalog;
  }

  get stateClockMs(): number {
    return this.state.clockMs;
  }

  threshold(model: string): number {
    return this.served(model).threshold;
  }

  score(model: string, request: ScoreRequest): Score {
    const served = this.served(model);
    const { coldStart } = this.state.vector(this.queryOf(request), this.row);
    const p = served.model.predictOne
      ? served.model.predictOne(this.row)
      : served.model.predictProba(this.matrix)[0];
    return request.explain
      ? { probSkip: p, coldStart, features: this.row.slice() }
      : { probSkip: p, coldStart };
  }

  /** P(skip) of a model for a given feature vector (FEATURE_SCHEMA order). */
  probabilityOf(model: string, features: Float32Array): number {
    const served = this.served(model);
    return served.model.predictProba({ rows: 1, cols: features.length, data: features })[0];
  }

  /** Vectors of every request in one matrix, then one `predictProba` call. */
  scoreBatch(model: string, requests: readonly ScoreRequest[]): Score[] {
    const served = this.served(model);
    const cols = this.row.length;
    const data = new Float32Array(requests.length * cols);
    const coldStarts = requests.map(
      (request, i) => this.state.vector(this.queryOf(request), data, i * cols).coldStart,
    );
    const p = served.model.predictProba({ rows: requests.length, cols, data });
    return coldStarts.map((coldStart, i) =>
      requests[i].explain
        ? { probSkip: p[i], coldStart, features: data.slice(i * cols, (i + 1) * cols) }
        : { probSkip: p[i], coldStart },
    );
  }

  /**
   * Feedback is the events it stands for: the play at the listen's start and, when skipped, the skip
   * heard-ms later; the stream decides the listen from them exactly as from `POST /v1/events`. Without a
   * session the stream cannot place the listen, so it is observed as a finished listen at once.
   */
  learn(outcome: ListenOutcome): void {
    const trackIndex = this.state.trackIndexOf(outcome.trackId);
    if (outcome.sessionId === undefined) {
      this.state.observe({
        userId: outcome.userId,
        trackIndex,
        startMs: outcome.atMs,
        skipped: outcome.skipped,
        heardMs: outcome.heardMs,
      });
      return;
    }
    const event = {
      kind: EventCode.play as number,
      timestampMs: outcome.atMs,
      userId: outcome.userId,
      sessionId: outcome.sessionId,
      trackIndex,
    };
    this.state.applyEvent(event);
    if (outcome.skipped) {
      event.kind = EventCode.skip;
      event.timestampMs = outcome.atMs + (Number.isFinite(outcome.heardMs) ? outcome.heardMs : 0);
      this.state.applyEvent(event);
    }
  }

  applyEvents(events: readonly EventRecord[]): void {
    const event = { kind: 0, timestampMs: 0, userId: 0, sessionId: 0, trackIndex: -1 };
    for (const record of events) {
      event.kind = record.kind;
      event.timestampMs = record.timestampMs;
      event.userId = record.userId;
      event.sessionId = record.sessionId;
      event.trackIndex = record.trackId === null ? -1 : this.state.trackIndexOf(record.trackId);
      this.state.applyEvent(event);
    }
  }

  trackDurationMs(trackId: string): number {
    const index = this.catalog.trackIndex.get(trackId);
    return index === undefined ? Number.NaN : this.catalog.tracks[index].durationMs;
  }

  /** The reused query object, filled from a request. */
  private queryOf(request: ScoreRequest): FeatureQuery {
    const query = this.query;
    const session = request.session;
    query.userId = request.userId;
    query.trackId = request.trackId;
    query.timestampMs = request.atMs ?? Date.now();
    query.sessionId = session?.sessionId;
    query.context =
      session && (session.position !== undefined || session.previousSkipped !== undefined)
        ? { position: session.position, previousSkipped: session.previousSkipped }
        : undefined;
    return query;
  }

  private served(model: string): ServedModel {
    const served = this.models.get(model);
    if (!served) throw new Error(`unknown model "${model}" (bundle has ${this.modelNames.join(", ")})`);
    return served;
  }
}

/** Short, readable version of a bundle (see src/models/bundle.ts): it changes when any file of the bundle does. */
export { bundleVersionOf } from "../models/bundle.ts";

/**
 * Builds a scorer from a bundle directory and the catalogue its feature state was taken on. Refuses (throws
 * with the bundle and the reason) a wrong format or feature schema, a missing file, a model that cannot be
 * restored, or a feature-state snapshot of another catalogue.
 */
export function scorerFromBundle(dir: string, catalog: Catalog): BundleScorer {
  const bundle = loadBundle(dir, { expectedSchema: FEATURE_SCHEMA });
  const { manifest } = bundle;
  let state: FeatureState;
  try {
    state = FeatureState.restore(catalog, bundle.featureState);
  } catch (error) {
    throw new BundleError(`bundle ${dir}: ${(error as Error).message}`);
  }
  const models: ServedModel[] = Object.entries(bundle.models).map(([name, model]) => ({
    name,
    model,
    threshold: servedThreshold(manifest, name),
  }));
  const policy = manifest.policy
    ? { kind: manifest.policy.kind, model: manifest.policy.model, threshold: manifest.policy.threshold }
    : undefined;
  return new BundleScorer({
    version: bundle.version,
    catalog,
    state,
    models,
    defaultModel: manifest.defaultModel,
    policy,
    // The snapshot's sha256, checked against these bytes by loadBundle: no need to hash them again.
    stateOrigin: manifest.files[manifest.featureStateFile].sha256.slice(0, 32),
  });
}

/**
 * What the refusal says when the server is not told the delivery: a bundle records what it was trained on
 * by content (`manifest.trainedOn`), never by a host path, so the delivery must be given.
 */
function noDeliveryMessage(dir: string): string {
  const trainedOn = readTrainedOn(dir);
  const which = trainedOn
    ? `the delivery it was trained on (fingerprint ${trainedOn.fingerprint}, ${trainedOn.events.toLocaleString("en-US")} events from ${trainedOn.from} to ${trainedOn.to})`
    : "the delivery it was trained on";
  return `bundle ${dir}: bundles record no delivery path; pass ${which} with --data <dir> (or SKIPWISE_DATA)`;
}

/**
 * The loader `skipwise serve` uses for start-up and reloads: the catalogue is read from the delivery
 * `data` once and reused while it stays the same. Without `data` every load is refused with what the
 * bundle says of its delivery.
 */
export function bundleLoader(options: { data?: string; onCatalog?: (dir: string) => void } = {}) {
  const catalogs = new Map<string, Promise<Catalog>>();
  return async (dir: string): Promise<BundleScorer> => {
    const data = options.data;
    if (!data) {
      // A missing or broken bundle says so first.
      loadBundle(dir, { expectedSchema: FEATURE_SCHEMA });
      throw new BundleError(noDeliveryMessage(dir));
    }
    const key = resolve(data);
    let catalog = catalogs.get(key);
    if (!catalog) {
      options.onCatalog?.(key);
      const loading = loadCatalog(key);
      loading.catch(() => catalogs.delete(key));
      catalogs.set(key, loading);
      catalog = loading;
    }
    return scorerFromBundle(dir, await catalog);
  };
}
