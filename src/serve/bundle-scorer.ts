// Scorer over the real pipeline: the bundle's feature state (kept learning online from events and feedback,
// in this process or in Redis) and its fitted models.
import { resolve } from "node:path";
import { redactedUrl } from "../base/format.ts";
import type { EventRecord } from "../data/event-record.ts";
import { loadCatalog } from "../data/index.ts";
import { type Catalog, EventCode } from "../data/types.ts";
import {
  COLD_TRACK,
  COLD_USER,
  FEATURE_COUNT,
  FEATURE_SCHEMA,
  type FeatureQuery,
  FeatureState,
} from "../features/index.ts";
import { RedisFeatureStore } from "../features/redis-store.ts";
import { type FeatureStore, MemoryFeatureStore } from "../features/store.ts";
import { type CostModel, costModelOf, DEFAULT_COST_MODEL } from "../listens/cost-model.ts";
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
  /** The in-process state (the embedded default); ignored when `store` is given. */
  state?: FeatureState;
  /** Where the online state lives (default: `state`, in this process). */
  store?: FeatureStore;
  models: readonly ServedModel[];
  defaultModel: string;
  /** Absent (bundles written before the policy was recorded): the default model at its threshold. */
  policy?: ServedPolicy;
  /** Identity of the feature-state snapshot the state started from (default: the version). */
  stateOrigin?: string;
  /** The policy's cost model (default: DEFAULT_COST_MODEL, for bundles written before it was recorded). */
  costModel?: CostModel;
}

/** A request's vector and cold-start bits, once computed. */
interface ScoredVector {
  values: Float32Array;
  cold: number;
}

export class BundleScorer implements Scorer {
  readonly bundleVersion: string;
  readonly modelNames: readonly string[];
  readonly defaultModel: string;
  readonly policy: ServedPolicy;
  readonly stateOrigin: string;
  readonly costModel: CostModel;
  readonly store: FeatureStore;
  private readonly catalog: Catalog;
  private readonly models = new Map<string, ServedModel>();
  /** The vector of each request object in flight: its shadow scores read it instead of asking again. */
  private readonly vectorsOf = new WeakMap<ScoreRequest, Promise<ScoredVector>>();

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
    this.costModel = costModelOf(parts.costModel ?? DEFAULT_COST_MODEL);
    this.modelNames = [...this.models.keys()];
    this.defaultModel = parts.defaultModel;
    const store = parts.store ?? (parts.state ? new MemoryFeatureStore(parts.state) : undefined);
    if (!store) throw new Error(`bundle ${parts.version}: no feature state to serve from`);
    this.store = store;
    this.catalog = parts.catalog;
  }

  /** The in-process state (tests and the embedded default); throws for a state held elsewhere. */
  get state(): FeatureState {
    if (this.store instanceof MemoryFeatureStore) return this.store.state;
    throw new Error(`bundle ${this.bundleVersion}: its feature state is held in ${this.store.kind}`);
  }

  get sharedState(): boolean {
    return this.store.kind !== "memory";
  }

  get stateClockMs(): number {
    return this.store.clockMs;
  }

  threshold(model: string): number {
    return this.served(model).threshold;
  }

  async score(model: string, request: ScoreRequest): Promise<Score> {
    const served = this.served(model);
    const { values, cold } = await this.vectorOf(request);
    const p = served.model.predictOne
      ? served.model.predictOne(values)
      : served.model.predictProba({ rows: 1, cols: values.length, data: values })[0];
    return scoreOf(p, cold, request.explain === true, values);
  }

  /** P(skip) of a model for a given feature vector (FEATURE_SCHEMA order). */
  probabilityOf(model: string, features: Float32Array): number {
    const served = this.served(model);
    return served.model.predictProba({ rows: 1, cols: features.length, data: features })[0];
  }

  /** Vectors of every request not scored yet in one store call (one round trip), then one `predictProba`. */
  async scoreBatch(model: string, requests: readonly ScoreRequest[]): Promise<Score[]> {
    const served = this.served(model);
    const cols = FEATURE_COUNT;
    // Each request object once (a batch may repeat one), and only those with no vector yet.
    const missing = [...new Set(requests)].filter((request) => !this.vectorsOf.has(request));
    if (missing.length > 0) {
      const data = new Float32Array(missing.length * cols);
      const computed = this.store.vectors(
        missing.map((r) => this.queryOf(r)),
        data,
      );
      missing.forEach((request, i) => {
        this.vectorsOf.set(
          request,
          computed.then((cold) => ({ values: data.subarray(i * cols, (i + 1) * cols), cold: cold[i] })),
        );
      });
    }
    const vectors = await Promise.all(requests.map((request) => this.vectorOf(request)));
    const data = new Float32Array(requests.length * cols);
    for (const [i, { values }] of vectors.entries()) data.set(values, i * cols);
    const p = served.model.predictProba({ rows: requests.length, cols, data });
    return vectors.map(({ values, cold }, i) => scoreOf(p[i], cold, requests[i].explain === true, values));
  }

  /**
   * Feedback is the events it stands for: the play at the listen's start and, when skipped, the skip
   * heard-ms later; the stream decides the listen from them exactly as from `POST /v1/events`. Without a
   * session the stream cannot place the listen, so it is observed as a finished listen at once.
   */
  async learn(outcome: ListenOutcome): Promise<void> {
    const trackIndex = this.trackIndexOf(outcome.trackId);
    if (outcome.sessionId === undefined) {
      await this.store.observe({
        userId: outcome.userId,
        trackIndex,
        startMs: outcome.atMs,
        skipped: outcome.skipped,
        heardMs: outcome.heardMs,
      });
      return;
    }
    const play = {
      kind: EventCode.play as number,
      timestampMs: outcome.atMs,
      userId: outcome.userId,
      sessionId: outcome.sessionId,
      trackIndex,
    };
    const events = [play];
    if (outcome.skipped) {
      const heard = Number.isFinite(outcome.heardMs) ? outcome.heardMs : 0;
      events.push({ ...play, kind: EventCode.skip, timestampMs: outcome.atMs + heard });
    }
    await this.store.applyEvents(events);
  }

  async applyEvents(events: readonly EventRecord[]): Promise<void> {
    await this.store.applyEvents(
      events.map((record) => ({
        kind: record.kind,
        timestampMs: record.timestampMs,
        userId: record.userId,
        sessionId: record.sessionId,
        trackIndex: record.trackId === null ? -1 : this.trackIndexOf(record.trackId),
      })),
    );
  }

  trackDurationMs(trackId: string): number {
    const index = this.catalog.trackIndex.get(trackId);
    return index === undefined ? Number.NaN : this.catalog.tracks[index].durationMs;
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private trackIndexOf(trackId: string): number {
    return this.catalog.trackIndex.get(trackId) ?? -1;
  }

  private vectorOf(request: ScoreRequest): Promise<ScoredVector> {
    let vector = this.vectorsOf.get(request);
    if (!vector) {
      const values = new Float32Array(FEATURE_COUNT);
      vector = this.store
        .vectors([this.queryOf(request)], values)
        .then((cold) => ({ values, cold: cold[0] }));
      this.vectorsOf.set(request, vector);
    }
    return vector;
  }

  /** The feature query of a request. */
  private queryOf(request: ScoreRequest): FeatureQuery {
    const session = request.session;
    return {
      userId: request.userId,
      trackId: request.trackId,
      timestampMs: request.atMs ?? Date.now(),
      sessionId: session?.sessionId,
      context:
        session && (session.position !== undefined || session.previousSkipped !== undefined)
          ? { position: session.position, previousSkipped: session.previousSkipped }
          : undefined,
    };
  }

  private served(model: string): ServedModel {
    const served = this.models.get(model);
    if (!served) throw new Error(`unknown model "${model}" (bundle has ${this.modelNames.join(", ")})`);
    return served;
  }
}

function scoreOf(probSkip: number, cold: number, explain: boolean, values: Float32Array): Score {
  const coldStart = { user: (cold & COLD_USER) !== 0, track: (cold & COLD_TRACK) !== 0 };
  return explain ? { probSkip, coldStart, features: values.slice() } : { probSkip, coldStart };
}

/** Short, readable version of a bundle (see src/models/bundle.ts): it changes when any file of the bundle does. */
export { bundleVersionOf } from "../models/bundle.ts";

/** The identity of a bundle's feature-state snapshot: what is journaled under, and loaded into Redis as. */
export function stateOriginOf(manifest: {
  files: Record<string, { sha256: string }>;
  featureStateFile: string;
}): string {
  // The snapshot's sha256, checked against these bytes by loadBundle: no need to hash them again.
  return manifest.files[manifest.featureStateFile].sha256.slice(0, 32);
}

/** Where a scorer's online state lives: this process (default) or a Redis loaded with the bundle's snapshot. */
export interface StateSource {
  redis?: string;
  redisPrefix?: string;
}

/**
 * Builds a scorer from a bundle directory and the catalogue its feature state was taken on, its state in this
 * process. Refuses (throws with the bundle and the reason) a wrong format or feature schema, a missing file,
 * a model that cannot be restored, or a feature-state snapshot of another catalogue.
 */
export function scorerFromBundle(dir: string, catalog: Catalog): BundleScorer {
  const { parts, featureState } = bundleParts(dir, catalog);
  try {
    return new BundleScorer({ ...parts, state: FeatureState.restore(catalog, featureState) });
  } catch (error) {
    throw new BundleError(`bundle ${dir}: ${(error as Error).message}`);
  }
}

/**
 * The same scorer with its state in Redis, shared by replicas: Redis must hold the state `skipwise state
 * load` materialised from this bundle's snapshot (or what was learned on it since).
 */
export async function sharedScorerFromBundle(
  dir: string,
  catalog: Catalog,
  source: Required<Pick<StateSource, "redis">> & StateSource,
): Promise<BundleScorer> {
  const { parts } = bundleParts(dir, catalog);
  let store: RedisFeatureStore;
  try {
    store = await RedisFeatureStore.open(source.redis, catalog, source.redisPrefix);
  } catch (error) {
    throw new BundleError(`bundle ${dir}: ${(error as Error).message}`);
  }
  if (store.origin !== parts.stateOrigin) {
    await store.close();
    throw new BundleError(
      `bundle ${dir}: Redis ${redactedUrl(source.redis)} holds the state loaded from snapshot ${store.origin}, this bundle's is ${parts.stateOrigin}: load this one with \`skipwise state load --bundle ${dir} --replace\``,
    );
  }
  return new BundleScorer({ ...parts, store });
}

/** A bundle's scorer parts but its state, and the state's snapshot bytes. */
function bundleParts(
  dir: string,
  catalog: Catalog,
): { parts: BundleParts & { stateOrigin: string }; featureState: Uint8Array } {
  const bundle = loadBundle(dir, { expectedSchema: FEATURE_SCHEMA });
  const { manifest } = bundle;
  const models: ServedModel[] = Object.entries(bundle.models).map(([name, model]) => ({
    name,
    model,
    threshold: servedThreshold(manifest, name),
  }));
  const policy = manifest.policy
    ? { kind: manifest.policy.kind, model: manifest.policy.model, threshold: manifest.policy.threshold }
    : undefined;
  const parts = {
    version: bundle.version,
    catalog,
    models,
    defaultModel: manifest.defaultModel,
    policy,
    stateOrigin: stateOriginOf(manifest),
    costModel: manifest.policy?.costModel,
  };
  return { parts, featureState: bundle.featureState };
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
export function bundleLoader(
  options: { data?: string; onCatalog?: (dir: string) => void } & StateSource = {},
) {
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
    const redis = options.redis;
    if (redis) return sharedScorerFromBundle(dir, await catalog, { ...options, redis });
    return scorerFromBundle(dir, await catalog);
  };
}
