// Replays listens in time order through a FeatureState: each listen's vector is written BEFORE the
// listen is observed, and listens sharing a start time are all vectorised before any is observed,
// so no row can see its own outcome or anything that happened at or after its start.
import type { Catalog } from "../data/types.ts";
import {
  COLD_TRACK,
  COLD_USER,
  FEATURE_COUNT,
  FEATURE_SCHEMA,
  type FeatureOptions,
  FeatureState,
} from "../features/index.ts";
import type { ListenTable } from "../listens/types.ts";
import type { Matrix } from "../models/types.ts";

export interface DatasetOptions {
  /** Continue from this state (for example one restored from a bundle); a fresh one by default. */
  state?: FeatureState;
  featureOptions?: Partial<FeatureOptions>;
  /** Called every `progressEvery` rows and at the end. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

export interface Dataset {
  X: Matrix;
  featureNames: readonly string[];
  schemaVersion: string;
  /** 1 = skipped. */
  y: Uint8Array;
  startMs: Float64Array;
  userId: Int32Array;
  trackIndex: Int32Array;
  sessionId: Int32Array;
  position: Int32Array;
  heardMs: Float64Array;
  /** Duration of the listen's track (ms), for cache-waste metrics. */
  durationMs: Float64Array;
  /** 1 when the user / track had no observed listen before this row. */
  coldUser: Uint8Array;
  coldTrack: Uint8Array;
  /** The state after observing every listen: what a server starts from. */
  state: FeatureState;
}

export function buildDataset(listens: ListenTable, catalog: Catalog, options: DatasetOptions = {}): Dataset {
  const n = listens.length;
  const cols = FEATURE_COUNT;
  assertTimeOrder(listens);
  const state = options.state ?? new FeatureState(catalog, options.featureOptions);
  state.reserve(n);
  const data = new Float32Array(n * cols);
  const durationMs = new Float64Array(n);
  const coldUser = new Uint8Array(n);
  const coldTrack = new Uint8Array(n);
  const every = Math.max(1, options.progressEvery ?? 100_000);
  const context: { position?: number; sessionStartMs?: number } = {};
  const query = {
    userId: 0,
    trackIndex: 0,
    timestampMs: 0,
    sessionId: 0,
    context,
    premium: null as boolean | null,
  };
  let nextReport = every;
  for (let from = 0; from < n; ) {
    let to = from + 1;
    while (to < n && listens.startMs[to] === listens.startMs[from]) to++;
    for (let i = from; i < to; i++) {
      query.userId = listens.userId[i];
      query.trackIndex = listens.trackIndex[i];
      query.timestampMs = listens.startMs[i];
      query.sessionId = listens.sessionId[i];
      context.position = listens.position[i];
      context.sessionStartMs = listens.sessionStartMs[i];
      const premium = listens.premium[i];
      query.premium = premium < 0 ? null : premium === 1;
      const cold = state.writeVector(query, data, i * cols);
      coldUser[i] = cold & COLD_USER ? 1 : 0;
      coldTrack[i] = cold & COLD_TRACK ? 1 : 0;
      const t = listens.trackIndex[i];
      durationMs[i] = t >= 0 && t < catalog.tracks.length ? catalog.tracks[t].durationMs : Number.NaN;
    }
    observeListens(state, listens, from, to);
    from = to;
    if (options.onProgress && from >= nextReport && from < n) {
      options.onProgress(from, n);
      nextReport = from + every;
    }
  }
  options.onProgress?.(n, n);

  return {
    X: { rows: n, cols, data },
    featureNames: FEATURE_SCHEMA.names,
    schemaVersion: FEATURE_SCHEMA.version,
    y: listens.skipped.slice(0, n),
    startMs: listens.startMs.slice(0, n),
    userId: listens.userId.slice(0, n),
    trackIndex: listens.trackIndex.slice(0, n),
    sessionId: listens.sessionId.slice(0, n),
    position: listens.position.slice(0, n),
    heardMs: listens.heardMs.slice(0, n),
    durationMs,
    coldUser,
    coldTrack,
    state,
  };
}

/** Feeds listens [from, to) of a table into a state, in table order (for example to rebuild a server's state). */
export function observeListens(
  state: FeatureState,
  listens: ListenTable,
  from = 0,
  to = listens.length,
): FeatureState {
  const listen = {
    userId: 0,
    trackIndex: 0,
    sessionId: 0,
    startMs: 0,
    sessionStartMs: 0,
    skipped: 0,
    heardMs: 0,
    liked: 0,
    premium: 0,
  };
  for (let i = from; i < to; i++) {
    listen.userId = listens.userId[i];
    listen.trackIndex = listens.trackIndex[i];
    listen.sessionId = listens.sessionId[i];
    listen.startMs = listens.startMs[i];
    listen.sessionStartMs = listens.sessionStartMs[i];
    listen.skipped = listens.skipped[i];
    listen.heardMs = listens.heardMs[i];
    listen.liked = listens.liked[i];
    listen.premium = listens.premium[i];
    state.observe(listen);
  }
  return state;
}

function assertTimeOrder(listens: ListenTable): void {
  for (let i = 1; i < listens.length; i++) {
    if (!(listens.startMs[i] >= listens.startMs[i - 1])) {
      throw new Error(
        `listens must be sorted by start time (buildListens does this): row ${i} starts before row ${i - 1}`,
      );
    }
  }
}
