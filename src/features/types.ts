import type { Columns } from "./snapshot.ts";

/** Smoothing constants; stored in the snapshot so a restored state computes the same numbers. */
export interface FeatureOptions {
  /** Skip rate assumed before any listen is observed. */
  globalPrior: number;
  /** Pseudo-listens of `globalPrior` added to the global counts. */
  globalPriorStrength: number;
  /** Pseudo-listens at the global rate added to each user / track / artist. */
  priorStrength: number;
  /** Pseudo-listens at the user's rate added to each user × artist / genre / track pair and to a session. */
  pairPriorStrength: number;
}

export const DEFAULT_FEATURE_OPTIONS: FeatureOptions = Object.freeze({
  globalPrior: 0.3,
  globalPriorStrength: 10,
  priorStrength: 10,
  pairPriorStrength: 3,
});

/** A listen fed into the state once its outcome is known. */
export interface ObservedListen {
  userId: number;
  /** Catalogue index of the track; -1 when the track is not in the catalogue. */
  trackIndex: number;
  /** Absent when the listen belongs to no known session. */
  sessionId?: number;
  startMs: number;
  /** Start of the listen's session; the first observed listen's start when absent. */
  sessionStartMs?: number;
  skipped: boolean | number;
  /** Audio heard; NaN or absent when unknown (heard-fraction features then ignore the listen). */
  heardMs?: number;
  liked?: boolean | number;
  /** The user's premium status at the listen (1 / 0 / -1 unknown, as in ListenTable.premium); absent = not said. */
  premium?: boolean | number | null;
}

/** Session context a request may state explicitly; each field overrides the state's own record. */
export interface SessionOverride {
  /** 0-based position of this listen in its session. */
  position?: number;
  /** Outcome of the previous listen: true = skipped, false = played out, null = there was none. */
  previousSkipped?: boolean | null;
  sessionStartMs?: number;
}

/** Who is about to listen to what, and when. */
export interface FeatureQuery {
  userId: number;
  /** Catalogue index of the track; takes precedence over `trackId`. -1 = unknown track. */
  trackIndex?: number;
  trackId?: string;
  timestampMs: number;
  sessionId?: number;
  context?: SessionOverride;
  /**
   * The user's premium status now, when the caller knows it (null = unknown). Absent: the latest status
   * seen in observed listens, else users.jsonl.
   */
  premium?: boolean | null;
}

export interface ColdStart {
  /** No listen of the user was observed: user features are priors. */
  user: boolean;
  /** The track is not in the catalogue or no listen of it was observed: track features are priors. */
  track: boolean;
}

/**
 * The one shape every stateful part of a FeatureState has (users, history, sessions, taste here; the live
 * listens of src/listens/live.ts match it structurally, since a stage may not import a later one):
 * - `observe(...)` learns from one input: a finished listen, resolved to slots by the state (the live
 *   listens: one session event);
 * - `columns()` gives the whole state as named typed arrays (views into the family: encode them at once);
 * - the family's class rebuilds it with `fromColumns(columns, ...context)` (see `FamilyType`).
 * Arguments are positional (tuples), as the replay calls these millions of times: numbers, no objects.
 */
export interface StateFamily<Observed extends unknown[]> {
  observe(...input: Observed): void;
  columns(): Columns;
}

/**
 * A state family that writes its slice of a feature vector: `write(...query, out, base)` sets
 * `out[base + COL.*]` for its columns and returns what a later family needs (the history: the user's rate).
 */
export interface FeatureFamily<Observed extends unknown[], Query extends unknown[], Written = void>
  extends StateFamily<Observed> {
  write(...query: [...Query, out: Float32Array, base: number]): Written;
}

/** The class side of a family: a new family holding exactly the state `columns()` gave. */
export interface FamilyType<Family, Context extends unknown[]> {
  fromColumns(columns: Columns, ...context: Context): Family;
}
