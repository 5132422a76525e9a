// The online feature state in Redis, shared by every replica (as Feast's online store). Learning runs in
// Redis as one Lua function call per event (src/features/redis-lua.ts): atomic, so concurrent replicas never lose
// an increment. A vector's reads come back from one function call per query (auto-pipelined): one round trip per
// request; the vector is then computed here by the same functions as in-process (vector.ts).
import { Redis } from "ioredis";
import { redactedUrl } from "../base/format.ts";
import type { Catalog } from "../data/types.ts";
import type { LiveEvent } from "../listens/live.ts";
import { CatalogIndex } from "./catalog-index.ts";
import { VectorReads } from "./reads.ts";
import { FEATURE_STORE_FUNCTION, FEATURE_STORE_LIBRARY } from "./redis-lua.ts";
import { FEATURE_COUNT, FEATURE_SCHEMA, TASTE_DIMENSIONS } from "./schema.ts";
import type { FeatureStore } from "./store.ts";
import type { FeatureOptions, FeatureQuery, ObservedListen, SessionOverride } from "./types.ts";
import { NO_STATUS, resolvePremium } from "./users.ts";
import { placedContext, type StreamPlace, writeVectorFromReads } from "./vector.ts";

const K = TASTE_DIMENSIONS;
export const DEFAULT_REDIS_PREFIX = "skipwise:";

/** Redis cannot be reached or refused a command: the request fails whole (HTTP 503), nothing is half-learned. */
export class FeatureStoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FeatureStoreUnavailableError";
  }
}

/** Redis holds no state this catalogue and schema can use (never loaded, or loaded from another one). */
export class FeatureStoreMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FeatureStoreMismatchError";
  }
}

/** The `meta` hash `state load` writes last: a Redis without it holds no usable state. */
export interface RedisStateMeta {
  schema: string;
  catalog: string;
  options: FeatureOptions;
  /** Identity of the snapshot it was loaded from (the bundle's feature-state sha256 prefix). */
  origin: string;
  loadedAt: string;
}

/** Opens a connection with the store's script defined; commands fail fast instead of queueing forever. */
export function connectRedis(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    // Every command of a turn goes out in one write (one syscall, not one per request). The store issues only
    // single commands (no explicit pipelines, which would overtake the auto-pipeline), so Redis still runs
    // them in the order they were issued: learning in the order the decision log committed it.
    enableAutoPipelining: true,
    commandTimeout: 5_000,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
  });
  // (Re)loaded on every connection: a Redis restarted without persistence has no functions.
  redis.on("ready", () => {
    redis.call("FUNCTION", "LOAD", "REPLACE", FEATURE_STORE_LIBRARY).catch(() => undefined);
  });
  // A lost connection is reported by the failing commands; the client reconnects by itself.
  redis.on("error", () => {});
  return redis;
}

export async function readRedisMeta(redis: Redis, prefix: string): Promise<RedisStateMeta | null> {
  const meta = await redis.hgetall(`${prefix}meta`);
  if (meta.schema === undefined) return null;
  return {
    schema: meta.schema,
    catalog: meta.catalog,
    options: JSON.parse(meta.options) as FeatureOptions,
    origin: meta.origin,
    loadedAt: meta.loadedAt,
  };
}

/**
 * Per catalogue track, the strings the scripts take and an open listen keeps (duration, artist, genres,
 * standardised audio vector): computed once per track, on first use, for the store and for `state load`.
 */
export class TrackArguments {
  private readonly duration: string[] = [];
  private readonly artist: string[] = [];
  private readonly genres: string[] = [];
  private readonly taste: string[] = [];

  constructor(
    private readonly index: CatalogIndex,
    private readonly catalog: Catalog,
  ) {}

  /** The track index when the catalogue holds it, else -1. */
  inCatalog(track: number): number {
    return track >= 0 && track < this.index.trackCount ? track : -1;
  }

  /** [duration, artist, genres, taste] of a track index (-1 / out of range: unknown track). */
  of(track: number): [string, string, string, string] {
    if (this.inCatalog(track) < 0) return ["", "-1", "", ""];
    if (this.artist[track] === undefined) {
      const { index } = this;
      const d = this.catalog.tracks[track].durationMs;
      const artist = index.trackArtist[track];
      this.duration[track] = Number.isNaN(d) ? "" : String(d);
      this.artist[track] = String(artist);
      this.genres[track] = Array.from(
        index.artistGenres.subarray(index.artistGenreStart[artist], index.artistGenreStart[artist + 1]),
      ).join(",");
      this.taste[track] = Array.from(index.trackTaste.subarray(track * K, (track + 1) * K), String).join(",");
    }
    return [this.duration[track], this.artist[track], this.genres[track], this.taste[track]];
  }
}

/** Reply layout of the 'vector' operation (see read_vector in redis-lua.ts). */
const AT = (() => {
  const clock = 0;
  const place = 1;
  const global = 4;
  const user = global + 9;
  const track = user + 17;
  const artist = track + 4;
  const userArtist = artist + 2;
  const userTrack = userArtist + 2;
  const session = userTrack + 3;
  const genres = session + 5;
  return { clock, place, global, user, track, artist, userArtist, userTrack, session, genres };
})();

type Reply = (string | null)[];

/** A taste sum field (K comma-separated numbers; absent = zeros) into `into`. */
export function readSums(field: string | null | undefined, into: Float64Array): void {
  if (field === null || field === undefined) {
    into.fill(0);
    return;
  }
  const parts = field.split(",");
  for (let k = 0; k < into.length; k++) into[k] = parts[k] === undefined ? 0 : Number(parts[k]);
}

const num = (v: string | null | undefined): number =>
  v === null || v === undefined ? Number.NaN : Number(v);
const n0 = (v: string | null | undefined): number => (v === null || v === undefined ? 0 : Number(v));

export class RedisFeatureStore implements FeatureStore {
  readonly kind = "redis";
  readonly index: CatalogIndex;
  private clock = Number.NEGATIVE_INFINITY;
  private readonly tracks: TrackArguments;
  private readonly catalogUsers = new Map<number, number>();
  private readonly reads = new VectorReads();
  private readonly context: SessionOverride = {};

  private constructor(
    private readonly redis: Redis,
    readonly catalog: Catalog,
    readonly prefix: string,
    readonly meta: RedisStateMeta,
    index: CatalogIndex,
  ) {
    this.index = index;
    this.tracks = new TrackArguments(index, catalog);
    for (let i = 0; i < index.userIds.length; i++) this.catalogUsers.set(index.userIds[i], i);
  }

  /** Connects and checks that Redis holds state loaded for this catalogue and feature schema. */
  static async open(
    url: string,
    catalog: Catalog,
    prefix = DEFAULT_REDIS_PREFIX,
  ): Promise<RedisFeatureStore> {
    const redis = connectRedis(url);
    try {
      await redis.connect();
      await redis.call("FUNCTION", "LOAD", "REPLACE", FEATURE_STORE_LIBRARY);
      const meta = await readRedisMeta(redis, prefix);
      const index = new CatalogIndex(catalog);
      if (meta === null) {
        throw new FeatureStoreMismatchError(
          `Redis ${redactedUrl(url)} holds no skipwise feature state under "${prefix}": load one with \`skipwise state load --bundle <dir> --data <delivery> --redis ${redactedUrl(url)}\``,
        );
      }
      if (meta.schema !== FEATURE_SCHEMA.version)
        throw new FeatureStoreMismatchError(
          `Redis ${redactedUrl(url)} holds feature state of schema "${meta.schema}"; this skipwise uses "${FEATURE_SCHEMA.version}"`,
        );
      if (meta.catalog !== index.fingerprint)
        throw new FeatureStoreMismatchError(
          `Redis ${redactedUrl(url)} holds feature state of another catalogue (${meta.catalog}; this delivery's is ${index.fingerprint})`,
        );
      const store = new RedisFeatureStore(redis, catalog, prefix, meta, index);
      store.noteClock((await redis.hget(`${prefix}g`, "clock")) ?? null);
      return store;
    } catch (error) {
      redis.disconnect();
      if (error instanceof FeatureStoreMismatchError) throw error;
      throw new FeatureStoreUnavailableError(`Redis ${redactedUrl(url)}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  get clockMs(): number {
    return this.clock;
  }

  /** The origin the state was loaded from (the bundle's snapshot identity). */
  get origin(): string {
    return this.meta.origin;
  }

  async applyEvents(events: readonly LiveEvent[]): Promise<void> {
    if (events.length === 0) return;
    const calls = events.map((e) => {
      const track = this.tracks.inCatalog(e.trackIndex);
      const [duration, artist, genres, taste] = this.tracks.of(track);
      return this.call(
        "event",
        e.kind,
        String(e.timestampMs),
        String(e.userId),
        String(e.sessionId),
        track,
        duration,
        artist,
        genres,
        taste,
      );
    });
    for (const reply of await Promise.all(calls)) this.noteClock(reply as string | null);
  }

  async observe(listen: ObservedListen): Promise<void> {
    const track = this.tracks.inCatalog(listen.trackIndex);
    const [duration, artist, genres, taste] = this.tracks.of(track);
    const heard = listen.heardMs ?? Number.NaN;
    const reply = await this.call(
      "observe",
      String(listen.userId),
      track,
      String(listen.startMs),
      listen.skipped ? 1 : 0,
      Number.isNaN(heard) ? "" : String(heard),
      listen.liked ? 1 : 0,
      duration,
      artist,
      genres,
      taste,
    );
    this.noteClock(reply as string | null);
  }

  async vectors(queries: readonly FeatureQuery[], out: Float32Array): Promise<Uint8Array> {
    const tracks = queries.map((q) => this.trackOf(q));
    const args = queries.map((q, i) => {
      const [, artist, genres] = this.tracks.of(tracks[i]);
      const session = q.sessionId !== undefined && Number.isFinite(q.sessionId) ? String(q.sessionId) : "";
      return ["vector", String(q.timestampMs), String(q.userId), session, tracks[i], artist, genres];
    });
    const replies = await Promise.all(args.map((a) => this.call(...a)));
    const cold = new Uint8Array(queries.length);
    queries.forEach((q, i) => {
      const fields = (replies[i] as string).split(" ").map((x) => (x === "" ? null : x));
      cold[i] = this.writeFromReply(q, tracks[i], fields, out, i * FEATURE_COUNT);
    });
    return cold;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private writeFromReply(
    query: FeatureQuery,
    track: number,
    v: Reply,
    out: Float32Array,
    offset: number,
  ): number {
    this.noteClock(v[AT.clock]);
    const r = this.reads;
    const g = AT.global;
    r.globalListens = n0(v[g]);
    r.globalSkips = n0(v[g + 1]);
    r.globalLikes = n0(v[g + 2]);
    r.globalHeardCount = n0(v[g + 3]);
    r.globalHeardSum = n0(v[g + 4]);
    r.tasteGlobalPlayed = n0(v[g + 5]);
    r.tasteGlobalSkipped = n0(v[g + 6]);
    readSums(v[g + 7], r.tasteGlobalPlayedSum);
    readSums(v[g + 8], r.tasteGlobalSkippedSum);
    const u = AT.user;
    const known = v[u] !== null;
    r.userKnown = known;
    r.userListens = n0(v[u + 1]);
    r.userSkips = n0(v[u + 2]);
    r.userLikes = n0(v[u + 3]);
    r.userHeardCount = n0(v[u + 4]);
    r.userHeardSum = n0(v[u + 5]);
    r.userLastMs = num(v[u + 6]);
    const latest = v[u + 7] === null ? NO_STATUS : Number(v[u + 7]);
    const premium = resolvePremium(query.premium, known, latest, v[u + 8] === null ? -1 : Number(v[u + 8]));
    r.statusListens = premium === 0 ? n0(v[u + 9]) : premium === 1 ? n0(v[u + 11]) : 0;
    r.statusSkips = premium === 0 ? n0(v[u + 10]) : premium === 1 ? n0(v[u + 12]) : 0;
    r.tastePlayedCount = n0(v[u + 13]);
    r.tasteSkippedCount = n0(v[u + 14]);
    readSums(v[u + 15], r.tastePlayedSum);
    readSums(v[u + 16], r.tasteSkippedSum);
    r.trackListens = n0(v[AT.track]);
    r.trackSkips = n0(v[AT.track + 1]);
    r.trackHeardCount = n0(v[AT.track + 2]);
    r.trackHeardSum = n0(v[AT.track + 3]);
    r.artistListens = n0(v[AT.artist]);
    r.artistSkips = n0(v[AT.artist + 1]);
    r.userArtistFound = known && v[AT.userArtist] !== null;
    r.userArtistListens = n0(v[AT.userArtist]);
    r.userArtistSkips = n0(v[AT.userArtist + 1]);
    r.userTrackFound = known && v[AT.userTrack] !== null;
    r.userTrackListens = n0(v[AT.userTrack]);
    r.userTrackSkips = n0(v[AT.userTrack + 1]);
    r.userTrackLikes = n0(v[AT.userTrack + 2]);
    const s = AT.session;
    r.sessionRecorded = v[s + 1] !== null;
    r.sessionStartMs = num(v[s]);
    r.sessionListens = n0(v[s + 1]);
    r.sessionSkips = n0(v[s + 2]);
    r.sessionLastSkipped = n0(v[s + 3]);
    r.sessionLastHeardFraction = num(v[s + 4]);
    const genres = known ? (v.length - AT.genres) / 2 : 0;
    r.setGenreCount(genres);
    for (let i = 0; i < genres; i++) {
      const at = AT.genres + 2 * i;
      r.genreFound[i] = v[at] === null ? 0 : 1;
      r.genreListens[i] = n0(v[at]);
      r.genreSkips[i] = n0(v[at + 1]);
    }
    const place: StreamPlace | null =
      v[AT.place] === "1" ? { position: n0(v[AT.place + 1]), sessionStartMs: num(v[AT.place + 2]) } : null;
    const context = placedContext(query.context, place, this.context);
    const catalogUser = this.catalogUsers.get(query.userId) ?? -1;
    return writeVectorFromReads(
      this.index,
      this.meta.options,
      query,
      context,
      r,
      track,
      catalogUser,
      premium,
      out,
      offset,
    );
  }

  private trackOf(query: FeatureQuery): number {
    const t =
      query.trackIndex ??
      (query.trackId === undefined ? -1 : (this.catalog.trackIndex.get(query.trackId) ?? -1));
    return this.tracks.inCatalog(t);
  }

  private noteClock(value: string | null | undefined): void {
    if (value === null || value === undefined) return;
    const t = Number(value);
    if (t > this.clock) this.clock = t;
  }

  private async call(...args: (string | number)[]): Promise<unknown> {
    try {
      return await this.redis.call("FCALL", FEATURE_STORE_FUNCTION, 1, this.prefix, ...args);
    } catch (error) {
      throw new FeatureStoreUnavailableError(`feature store (Redis): ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}
