// FeatureState: the one feature implementation shared by training and serving (river's
// learnOne/predictOne shape). `observe` feeds a finished listen in; `vector` describes a listen about
// to happen using only what was observed before it. Its state is held by families (src/features/types.ts
// `FeatureFamily`): a snapshot is their `columns()` side by side, a restore their `fromColumns`.
import { type Catalog, EventCode } from "../data/types.ts";
import { type FinishedListen, type LiveEvent, LiveListens, type SessionPlace } from "../listens/live.ts";
import { trackDurations } from "../listens/sequence.ts";
import { CatalogIndex } from "./catalog-index.ts";
import { HistoryFamily } from "./history.ts";
import { VectorReads } from "./reads.ts";
import { FEATURE_COUNT, FEATURE_SCHEMA } from "./schema.ts";
import { SessionFamily } from "./session.ts";
import { heardFraction } from "./smoothing.ts";
import { type Columns, decodeSnapshot, encodeSnapshot, type NamedArray } from "./snapshot.ts";
import { TasteFamily } from "./taste.ts";
import {
  type ColdStart,
  DEFAULT_FEATURE_OPTIONS,
  type FamilyType,
  type FeatureOptions,
  type FeatureQuery,
  type ObservedListen,
  type SessionOverride,
  type StateFamily,
} from "./types.ts";
import { UserFamily } from "./users.ts";

export { FAVOURITE_GENRE_SLOTS, FEATURE_COUNT, FEATURE_DESCRIPTIONS, FEATURE_SCHEMA } from "./schema.ts";
export type {
  ColdStart,
  FamilyType,
  FeatureFamily,
  FeatureOptions,
  FeatureQuery,
  ObservedListen,
  SessionOverride,
  StateFamily,
} from "./types.ts";
export { DEFAULT_FEATURE_OPTIONS } from "./types.ts";

export { COLD_TRACK, COLD_USER } from "./vector.ts";

import { COLD_TRACK, COLD_USER, placedContext, writeVectorFromReads } from "./vector.ts";

export interface FeatureVector {
  /** The array written to (the caller's `out`, or a new one of FEATURE_COUNT values). */
  values: Float32Array;
  coldStart: ColdStart;
}

/**
 * Where each family's columns sit in a snapshot, in snapshot order. The names are those of the first
 * snapshot format (the users' and the history's columns carry no family prefix): bundles made before
 * the families owned their columns restore, and snapshot, byte for byte the same.
 */
const PREFIX = { users: "", history: "", sessions: "sessions.", taste: "taste.", live: "live." } as const;

export class FeatureState {
  static readonly schema = FEATURE_SCHEMA;
  readonly options: FeatureOptions;
  /** Listens observed so far. */
  observed = 0;
  private readonly index: CatalogIndex;
  /** Track durations by catalogue index, for the live listens. */
  private readonly durations: Float64Array;
  private users: UserFamily;
  private history: HistoryFamily;
  private sessions = new SessionFamily();
  private taste: TasteFamily;
  /** Listens opened by `applyEvent` whose outcome the stream has not decided yet. */
  private live: LiveListens;
  private readonly finished = (listen: FinishedListen): void => this.observe(listen);
  private readonly context: SessionOverride = {};
  private readonly reads = new VectorReads();

  constructor(
    readonly catalog: Catalog,
    options: Partial<FeatureOptions> = {},
  ) {
    this.options = Object.freeze({ ...DEFAULT_FEATURE_OPTIONS, ...options });
    this.index = new CatalogIndex(catalog);
    this.users = new UserFamily(this.index);
    this.history = new HistoryFamily(this.index, this.options, this.users.size);
    this.taste = new TasteFamily(this.index, this.users.size);
    this.durations = trackDurations(catalog);
    this.live = new LiveListens(this.durations, this.finished) satisfies StateFamily<[event: LiveEvent]>;
  }

  /**
   * Learns from one session event, as the delivery states it (training replays a delivery's events
   * through this; the service calls it for `POST /v1/events`). Listens are observed once the stream
   * decides their outcome (src/listens/live.ts); `buy_premium` makes the user premium from then on.
   */
  applyEvent(event: LiveEvent): void {
    if (event.kind === EventCode.buy_premium) this.users.observePurchase(this.userSlot(event.userId));
    this.live.observe(event);
  }

  /** Latest event or request time seen since this state was made or restored (epoch ms; -Infinity before any). */
  get clockMs(): number {
    return this.live.clockMs;
  }

  /** Number of features per vector (FEATURE_SCHEMA.names.length). */
  get width(): number {
    return FEATURE_COUNT;
  }

  /** The genres behind the `fav_genre_k` indicators, in slot order. */
  get favouriteGenres(): readonly string[] {
    return this.index.favouriteVocabulary;
  }

  /** Catalogue index of a track id, -1 when the catalogue does not hold it. */
  trackIndexOf(trackId: string): number {
    return this.catalog.trackIndex.get(trackId) ?? -1;
  }

  /** Pre-sizes the tables for `listens` more observations (a replay knows its size; saves rehashing). */
  reserve(listens: number): void {
    this.history.reserve(listens);
  }

  /** Feeds a finished listen into every feature family. */
  observe(listen: ObservedListen): void {
    const user = this.userSlot(listen.userId);
    const track =
      listen.trackIndex >= 0 && listen.trackIndex < this.index.trackCount ? listen.trackIndex : -1;
    const skipped = listen.skipped ? 1 : 0;
    const liked = listen.liked ? 1 : 0;
    const fraction =
      track < 0
        ? Number.NaN
        : heardFraction(listen.heardMs ?? Number.NaN, this.catalog.tracks[track].durationMs);
    this.users.observe(user, listen.startMs, listen.premium);
    const premium = this.users.premiumOf(user, undefined);
    this.history.observe(user, track, skipped, liked, fraction, Number.isNaN(premium) ? -1 : premium);
    this.taste.observe(user, track, skipped);
    if (listen.sessionId !== undefined && Number.isFinite(listen.sessionId)) {
      this.sessions.observe(
        listen.sessionId,
        listen.sessionStartMs ?? Number.NaN,
        listen.startMs,
        skipped,
        fraction,
      );
    }
    this.observed++;
  }

  /**
   * Features of a listen about to happen, written to `out` at `offset`. Unknown user or track → priors
   * for the history features and NaN for catalogue facts; `coldStart` says which side had no history.
   */
  vector(query: FeatureQuery, out?: Float32Array, offset = 0): FeatureVector {
    const values = out ?? new Float32Array(FEATURE_COUNT);
    const cold = this.writeVector(query, values, offset);
    return { values, coldStart: { user: (cold & COLD_USER) !== 0, track: (cold & COLD_TRACK) !== 0 } };
  }

  /**
   * `vector` without allocation, for replaying millions of rows: writes the row and returns the cold-start
   * flags as bits (COLD_USER | COLD_TRACK).
   */
  writeVector(query: FeatureQuery, values: Float32Array, offset: number): number {
    const context = this.placeContext(query);
    const users = this.users;
    const userSlot = users.slotOf(query.userId);
    const track = this.resolveTrack(query);
    const premium = users.premiumOf(userSlot, query.premium);
    const reads = this.reads;
    users.read(userSlot, reads);
    this.history.read(userSlot, track, premium, reads);
    this.taste.read(userSlot, reads);
    this.sessions.read(query.sessionId, reads);
    const catalogUser = users.catalogUser(userSlot);
    return writeVectorFromReads(
      this.index,
      this.options,
      query,
      context,
      reads,
      track,
      catalogUser,
      premium,
      values,
      offset,
    );
  }

  /**
   * A vector is asked at the query's time: the stream clock advances to it, and a listen still open in the
   * query's session is over (a new one starts). The session's place comes from the stream unless stated.
   */
  private placeContext(query: FeatureQuery): FeatureQuery["context"] {
    const t = query.timestampMs;
    let place: SessionPlace | null = null;
    if (query.sessionId !== undefined && Number.isFinite(query.sessionId))
      place = this.live.placeOf(t, query.sessionId);
    else this.live.advance(t);
    return placedContext(query.context, place, this.context);
  }

  /** The whole state as bytes; `FeatureState.restore(catalog, bytes)` gives it back exactly. */
  snapshot(): Buffer {
    const arrays = joinColumns([
      [PREFIX.users, this.users.columns()],
      [PREFIX.history, this.history.columns()],
      [PREFIX.sessions, this.sessions.columns()],
      [PREFIX.taste, this.taste.columns()],
      [PREFIX.live, this.live.columns()],
    ]);
    const meta = {
      schema: FEATURE_SCHEMA.version,
      catalog: this.index.fingerprint,
      options: this.options,
      observed: this.observed,
    };
    return encodeSnapshot(meta, arrays);
  }

  static restore(catalog: Catalog, buf: Uint8Array): FeatureState {
    const { meta, arrays } = decodeSnapshot(buf);
    if (meta.schema !== FEATURE_SCHEMA.version) {
      throw new Error(
        `feature-state snapshot has schema "${String(meta.schema)}" but this skipwise uses "${FEATURE_SCHEMA.version}"`,
      );
    }
    const state = new FeatureState(catalog, meta.options as FeatureOptions);
    if (meta.catalog !== state.index.fingerprint) {
      throw new Error(
        `feature-state snapshot was taken on another catalogue (${String(meta.catalog)}, this one is ${state.index.fingerprint})`,
      );
    }
    const { index, options } = state;
    state.users = restored("users", UserFamily, columnsUnder(arrays, PREFIX.users), index);
    state.history = restored("history", HistoryFamily, columnsUnder(arrays, PREFIX.history), index, options);
    state.sessions = restored("sessions", SessionFamily, columnsUnder(arrays, PREFIX.sessions));
    state.taste = restored("taste", TasteFamily, columnsUnder(arrays, PREFIX.taste), index);
    state.live = restored(
      "live",
      LiveListens,
      columnsUnder(arrays, PREFIX.live),
      state.durations,
      state.finished,
    );
    const users = state.users.size;
    if (state.history.userCount !== users || state.taste.userCount !== users) {
      throw new Error(
        `feature-state snapshot: its families disagree on the users (${users} known, history ${state.history.userCount}, taste ${state.taste.userCount})`,
      );
    }
    state.observed = Number(meta.observed);
    return state;
  }

  /** Slot of a user id, created (in every family's per-user tables) when new. */
  private userSlot(id: number): number {
    const slot = this.users.slotOf(id);
    if (slot >= 0) return slot;
    const created = this.users.intern(id);
    this.history.ensureUsers(created + 1);
    this.taste.ensureUsers(created + 1);
    return created;
  }

  private resolveTrack(query: FeatureQuery): number {
    const t = query.trackIndex ?? (query.trackId === undefined ? -1 : this.trackIndexOf(query.trackId));
    return t >= 0 && t < this.index.trackCount ? t : -1;
  }
}

/** The families' columns under their prefixes, in order (a name given twice is a bug, not a snapshot). */
function joinColumns(parts: readonly [prefix: string, columns: Columns][]): Record<string, NamedArray> {
  const arrays: Record<string, NamedArray> = {};
  for (const [prefix, columns] of parts) {
    for (const [name, array] of Object.entries(columns)) {
      if (arrays[prefix + name] !== undefined)
        throw new Error(`two families name the array "${prefix}${name}"`);
      arrays[prefix + name] = array;
    }
  }
  return arrays;
}

/** The decoded arrays whose names start with `prefix`, named without it. */
function columnsUnder(arrays: ReadonlyMap<string, NamedArray>, prefix: string): Columns {
  const columns: Record<string, NamedArray> = {};
  for (const [name, array] of arrays) if (name.startsWith(prefix)) columns[name.slice(prefix.length)] = array;
  return columns;
}

/** `type.fromColumns(columns, ...context)`, its complaint (if any) naming the snapshot and the family. */
function restored<Family, Context extends unknown[]>(
  family: string,
  type: FamilyType<Family, Context>,
  columns: Columns,
  ...context: Context
): Family {
  try {
    return type.fromColumns(columns, ...context);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`feature-state snapshot, ${family} family: ${message}`, { cause: error });
  }
}
