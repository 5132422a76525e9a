// Scorer over the real pipeline: the bundle's FeatureState (kept learning online from feedback) and its
// fitted models. One reusable feature row per scorer: the server scores one request at a time.
import type { Catalog } from "../data/types.ts";
import { FEATURE_SCHEMA, type FeatureQuery, type FeatureState } from "../features/index.ts";
import type { Model, ModelExtras } from "../models/types.ts";
import type { ListenOutcome, Score, ScoreRequest, Scorer } from "./scorer.ts";

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
}

export class BundleScorer implements Scorer {
  readonly bundleVersion: string;
  readonly modelNames: readonly string[];
  readonly defaultModel: string;
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
    this.bundleVersion = parts.version;
    this.modelNames = [...this.models.keys()];
    this.defaultModel = parts.defaultModel;
    this.state = parts.state;
    this.catalog = parts.catalog;
  }

  threshold(model: string): number {
    return this.served(model).threshold;
  }

  score(model: string, request: ScoreRequest): Score {
    const served = this.served(model);
    const query = this.query;
    query.userId = request.userId;
    query.trackId = request.trackId;
    query.timestampMs = request.atMs ?? Date.now();
    query.sessionId = request.session?.sessionId;
    query.context =
      request.session &&
      (request.session.position !== undefined || request.session.previousSkipped !== undefined)
        ? { position: request.session.position, previousSkipped: request.session.previousSkipped }
        : undefined;
    const { coldStart } = this.state.vector(query, this.row);
    const p = served.model.predictOne
      ? served.model.predictOne(this.row)
      : served.model.predictProba(this.matrix)[0];
    return { probSkip: p, coldStart };
  }

  scoreBatch(model: string, requests: readonly ScoreRequest[]): Score[] {
    return requests.map((request) => this.score(model, request));
  }

  learn(outcome: ListenOutcome): void {
    this.state.observe({
      userId: outcome.userId,
      trackIndex: this.state.trackIndexOf(outcome.trackId),
      sessionId: outcome.sessionId,
      startMs: outcome.atMs,
      skipped: outcome.skipped,
      heardMs: outcome.heardMs,
    });
  }

  trackDurationMs(trackId: string): number {
    const index = this.catalog.trackIndex.get(trackId);
    return index === undefined ? Number.NaN : this.catalog.tracks[index].durationMs;
  }

  private served(model: string): ServedModel {
    const served = this.models.get(model);
    if (!served) throw new Error(`unknown model "${model}" (bundle has ${this.modelNames.join(", ")})`);
    return served;
  }
}
