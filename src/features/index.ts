// FeatureState: the one feature implementation shared by training and serving (river's
// learnOne/predictOne shape). `observe` feeds a finished listen in; `vector` describes a listen about
// to happen using only what was observed before it.
import { type Catalog, EventCode } from "../data/types.ts";
import { type LiveEvent, LiveListens, type SessionPlace } from "../listens/live.ts";
import { trackDurations } from "../listens/sequence.ts";
import { CatalogIndex } from "./catalog-index.ts";
import { writeContent } from "./content.ts";
import { COUNTS_AND_LIKES, COUNTS_ONLY, HistoryFamily } from "./history.ts";
import { PairIndex } from "./pair-index.ts";
import { FEATURE_COUNT, FEATURE_SCHEMA, TASTE_DIMENSIONS } from "./schema.ts";
import { SessionFamily } from "./session.ts";
import { heardFraction } from "./smoothing.ts";
import { decodeSnapshot, encodeSnapshot, type NamedArray } from "./snapshot.ts";
import { FULL_TALLY, Tally, type TallyColumns, type TallyKind } from "./tally.ts";
import { TasteFamily } from "./taste.ts";
import { writeTime } from "./time.ts";
import {
  type ColdStart,
  DEFAULT_FEATURE_OPTIONS,
  type FeatureOptions,
  type FeatureQuery,
  type ObservedListen,
} from "./types.ts";

export { FAVOURITE_GENRE_SLOTS, FEATURE_COUNT, FEATURE_DESCRIPTIONS, FEATURE_SCHEMA } from "./schema.ts";
export type { ColdStart, FeatureOptions, FeatureQuery, ObservedListen, SessionOverride } from "./types.ts";
export { DEFAULT_FEATURE_OPTIONS } from "./types.ts";

const NO_STATUS = -2;
/** Bits returned by `writeVector`. */
export const COLD_USER = 1;
export const COLD_TRACK = 2;

export interface FeatureVector {
  /** The array written to (the caller's `out`, or a new one of FEATURE_COUNT values). */
  values: Float32Array;
  coldStart: ColdStart;
}

export class FeatureState {
  static readonly schema = FEATURE_SCHEMA;
  readonly options: FeatureOptions;
  /** Listens observed so far. */
  observed = 0;
  private readonly index: CatalogIndex;
  private readonly userSlots = new Map<number, number>();
  private userIds: Int32Array;
  /** Latest premium status seen in observed listens per user slot: 1 / 0 / -1 unknown, -2 none seen. */
  private userPremium: Int8Array;
  private readonly catalogUsers: number;
  private history: HistoryFamily;
  private sessions = new SessionFamily();
  private taste: TasteFamily;
  /** Listens opened by `applyEvent` whose outcome the stream has not decided yet. */
  private live: LiveListens;
  private readonly context: { position?: number; sessionStartMs?: number; previousSkipped?: boolean | null } =
    {};

  constructor(
    readonly catalog: Catalog,
    options: Partial<FeatureOptions> = {},
  ) {
    this.options = Object.freeze({ ...DEFAULT_FEATURE_OPTIONS, ...options });
    this.index = new CatalogIndex(catalog);
    this.catalogUsers = this.index.userIds.length;
    this.userIds = new Int32Array(Math.max(16, this.catalogUsers * 2));
    this.userPremium = new Int8Array(this.userIds.length).fill(NO_STATUS);
    this.history = new HistoryFamily(this.index, this.options, this.userIds.length);
    this.taste = new TasteFamily(this.index, this.userIds.length);
    for (const id of this.index.userIds) this.internUser(id);
    this.live = this.newLive();
  }

  private newLive(): LiveListens {
    return new LiveListens(trackDurations(this.catalog), (listen) => this.observe(listen));
  }

  /**
   * Learns from one session event, as the delivery states it (training replays a delivery's events
   * through this; the service calls it for `POST /v1/events`). Listens are observed once the stream
   * decides their outcome (src/listens/live.ts); `buy_premium` makes the user premium from then on.
   */
  applyEvent(event: LiveEvent): void {
    if (event.kind === EventCode.buy_premium) {
      const slot = this.userSlots.get(event.userId) ?? this.internUser(event.userId);
      this.userPremium[slot] = 1;
    }
    this.live.apply(event);
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
    const user = this.userSlots.get(listen.userId) ?? this.internUser(listen.userId);
    const track =
      listen.trackIndex >= 0 && listen.trackIndex < this.index.trackCount ? listen.trackIndex : -1;
    const skipped = listen.skipped ? 1 : 0;
    const liked = listen.liked ? 1 : 0;
    const fraction =
      track < 0
        ? Number.NaN
        : heardFraction(listen.heardMs ?? Number.NaN, this.catalog.tracks[track].durationMs);
    if (listen.premium !== undefined) {
      const p = listen.premium;
      this.userPremium[user] =
        p === null ? -1 : p === true ? 1 : p === false ? 0 : p > 0 ? 1 : p === 0 ? 0 : -1;
    }
    const premium = this.premiumOf(user, undefined);
    this.history.observe(
      user,
      track,
      listen.startMs,
      skipped,
      liked,
      fraction,
      Number.isNaN(premium) ? -1 : premium,
    );
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
    const userSlot = this.userSlots.get(query.userId) ?? -1;
    const track = this.resolveTrack(query);
    const premium = this.premiumOf(userSlot, query.premium);
    const userRate = this.history.write(userSlot, track, query.timestampMs, premium, values, offset);
    this.taste.write(userSlot, track, this.options.priorStrength, values, offset);
    writeContent(this.index, userSlot < this.catalogUsers ? userSlot : -1, premium, track, values, offset);
    writeTime(query.timestampMs, values, offset);
    this.sessions.write(
      query.sessionId,
      context,
      query.timestampMs,
      userRate,
      this.options.pairPriorStrength,
      values,
      offset,
    );
    return (
      (this.history.userListens(userSlot) === 0 ? COLD_USER : 0) |
      (this.history.trackListens(track) === 0 ? COLD_TRACK : 0)
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
    if (place === null) return query.context;
    const stated = query.context;
    const context = this.context;
    context.position = stated?.position ?? place.position;
    context.sessionStartMs = stated?.sessionStartMs ?? place.sessionStartMs;
    context.previousSkipped = stated?.previousSkipped;
    return context;
  }

  /** The whole state as bytes; `FeatureState.restore(catalog, bytes)` gives it back exactly. */
  snapshot(): Buffer {
    const h = this.history;
    const arrays: Record<string, NamedArray> = {
      userIds: this.userIds.subarray(0, this.userSlots.size),
      userLastMs: h.userLastMs.subarray(0, this.userSlots.size),
      userPremium: this.userPremium.subarray(0, this.userSlots.size),
      ...prefixed("global.", h.global.columns()),
      ...prefixed("users.", h.users.columns()),
      ...prefixed("userStatus.", h.userStatus.columns()),
      ...prefixed("tracks.", h.tracks.columns()),
      ...prefixed("artists.", h.artists.columns()),
      ...pairColumns("userArtist", h.userArtist, h.userArtistTally),
      ...pairColumns("userGenre", h.userGenre, h.userGenreTally),
      ...pairColumns("userTrack", h.userTrack, h.userTrackTally),
      ...prefixed("sessions.", this.sessions.columns()),
      "taste.playedSum": this.taste.playedSum.subarray(0, this.userSlots.size * TASTE_DIMENSIONS),
      "taste.skippedSum": this.taste.skippedSum.subarray(0, this.userSlots.size * TASTE_DIMENSIONS),
      "taste.playedCount": this.taste.playedCount.subarray(0, this.userSlots.size),
      "taste.skippedCount": this.taste.skippedCount.subarray(0, this.userSlots.size),
      "taste.globalPlayedSum": this.taste.globalPlayedSum,
      "taste.globalSkippedSum": this.taste.globalSkippedSum,
      "taste.globalCounts": this.taste.globalCounts,
      ...prefixed("live.", this.live.columns()),
    };
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
    const get = <T extends NamedArray>(name: string): T => {
      const array = arrays.get(name);
      if (!array) throw new Error(`feature-state snapshot lacks array "${name}"`);
      return array as T;
    };
    const userIds = get<Int32Array>("userIds");
    for (const id of userIds) if (!state.userSlots.has(id)) state.internUser(id);
    const h = state.history;
    h.userLastMs.set(get<Float64Array>("userLastMs"));
    state.userPremium.set(get<Int8Array>("userPremium"));
    h.global = Tally.fromColumns(tallyColumns(arrays, "global."), FULL_TALLY, 1);
    h.users = Tally.fromColumns(tallyColumns(arrays, "users."), FULL_TALLY, h.userLastMs.length);
    h.userStatus = Tally.fromColumns(
      tallyColumns(arrays, "userStatus."),
      COUNTS_ONLY,
      h.userLastMs.length * 2,
    );
    h.tracks = Tally.fromColumns(tallyColumns(arrays, "tracks."), FULL_TALLY);
    h.artists = Tally.fromColumns(tallyColumns(arrays, "artists."), FULL_TALLY);
    [h.userArtist, h.userArtistTally] = restorePairs(arrays, "userArtist", COUNTS_ONLY);
    [h.userGenre, h.userGenreTally] = restorePairs(arrays, "userGenre", COUNTS_ONLY);
    [h.userTrack, h.userTrackTally] = restorePairs(arrays, "userTrack", COUNTS_AND_LIKES);
    state.sessions = SessionFamily.fromColumns({
      sessionIds: get<Int32Array>("sessions.sessionIds"),
      startMs: get<Float64Array>("sessions.startMs"),
      listens: get<Uint32Array>("sessions.listens"),
      skips: get<Uint32Array>("sessions.skips"),
      lastSkipped: get<Uint8Array>("sessions.lastSkipped"),
      lastHeardFraction: get<Float64Array>("sessions.lastHeardFraction"),
    });
    const t = state.taste;
    t.playedSum.set(get<Float64Array>("taste.playedSum"));
    t.skippedSum.set(get<Float64Array>("taste.skippedSum"));
    t.playedCount.set(get<Uint32Array>("taste.playedCount"));
    t.skippedCount.set(get<Uint32Array>("taste.skippedCount"));
    t.globalPlayedSum.set(get<Float64Array>("taste.globalPlayedSum"));
    t.globalSkippedSum.set(get<Float64Array>("taste.globalSkippedSum"));
    t.globalCounts.set(get<Uint32Array>("taste.globalCounts"));
    state.live.restore({
      sessionIds: get<Int32Array>("live.sessionIds"),
      sessionStartMs: get<Float64Array>("live.sessionStartMs"),
      listens: get<Uint32Array>("live.listens"),
      open: get<Uint8Array>("live.open"),
      openUser: get<Int32Array>("live.openUser"),
      openTrack: get<Int32Array>("live.openTrack"),
      openStartMs: get<Float64Array>("live.openStartMs"),
      openLiked: get<Uint8Array>("live.openLiked"),
      openSeq: get<Float64Array>("live.openSeq"),
      nextSeq: get<Float64Array>("live.nextSeq"),
    });
    state.observed = Number(meta.observed);
    return state;
  }

  /** Caller's word first, then the latest observed status, then users.jsonl (end-of-period status). */
  private premiumOf(userSlot: number, stated: boolean | null | undefined): number {
    if (stated !== undefined) return stated === null ? Number.NaN : stated ? 1 : 0;
    if (userSlot < 0) return Number.NaN;
    let status = this.userPremium[userSlot];
    if (status === NO_STATUS) status = userSlot < this.catalogUsers ? this.index.premium[userSlot] : -1;
    return status < 0 ? Number.NaN : status;
  }

  private resolveTrack(query: FeatureQuery): number {
    const t = query.trackIndex ?? (query.trackId === undefined ? -1 : this.trackIndexOf(query.trackId));
    return t >= 0 && t < this.index.trackCount ? t : -1;
  }

  private internUser(id: number): number {
    const slot = this.userSlots.size;
    if (slot >= this.userIds.length) {
      const ids = new Int32Array(this.userIds.length * 2);
      ids.set(this.userIds);
      this.userIds = ids;
    }
    if (slot >= this.userPremium.length) {
      const premium = new Int8Array(this.userIds.length).fill(NO_STATUS);
      premium.set(this.userPremium);
      this.userPremium = premium;
    }
    this.userIds[slot] = id;
    this.userSlots.set(id, slot);
    this.history.ensureUsers(slot + 1);
    this.taste.ensureUsers(slot + 1);
    return slot;
  }
}

function prefixed(prefix: string, columns: object): Record<string, NamedArray> {
  return Object.fromEntries(
    Object.entries(columns).map(([name, array]) => [prefix + name, array as NamedArray]),
  );
}

function pairColumns(name: string, index: PairIndex, tally: Tally): Record<string, NamedArray> {
  return {
    [`${name}.first`]: index.first.subarray(0, index.size),
    [`${name}.second`]: index.second.subarray(0, index.size),
    ...prefixed(`${name}.`, tally.columns()),
  };
}

function tallyColumns(arrays: Map<string, NamedArray>, prefix: string): TallyColumns {
  const listens = arrays.get(`${prefix}listens`) as Uint32Array | undefined;
  const skips = arrays.get(`${prefix}skips`) as Uint32Array | undefined;
  if (!listens || !skips) throw new Error(`feature-state snapshot lacks the "${prefix}" counts`);
  return {
    listens,
    skips,
    likes: arrays.get(`${prefix}likes`) as Uint32Array | undefined,
    heardCount: arrays.get(`${prefix}heardCount`) as Uint32Array | undefined,
    heardSum: arrays.get(`${prefix}heardSum`) as Float64Array | undefined,
  };
}

function restorePairs(arrays: Map<string, NamedArray>, name: string, kind: TallyKind): [PairIndex, Tally] {
  const first = arrays.get(`${name}.first`) as Int32Array | undefined;
  const second = arrays.get(`${name}.second`) as Int32Array | undefined;
  if (!first || !second) throw new Error(`feature-state snapshot lacks the "${name}" pairs`);
  return [PairIndex.fromPairs(first, second), Tally.fromColumns(tallyColumns(arrays, `${name}.`), kind)];
}
