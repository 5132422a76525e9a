// Typed, normalised records of a Pozytywka delivery. Every dialect the loader accepts ends up in these shapes.

/** Event kinds after normalisation (any letter case, `advertisment` spelling folded into `advertisement`). */
export const EVENT_KINDS = ["play", "skip", "like", "advertisement", "buy_premium"] as const;
export type EventKind = (typeof EVENT_KINDS)[number];
/** Numeric code of an event kind as stored in `EventTable.kind`: index into EVENT_KINDS. */
export const EventCode = { play: 0, skip: 1, like: 2, advertisement: 3, buy_premium: 4 } as const;

export interface Track {
  id: string;
  name: string;
  popularity: number;
  durationMs: number;
  explicit: boolean;
  artistId: string;
  /** Normalised to YYYY-MM-DD (missing month/day filled with 01). */
  releaseDate: string;
  releaseYear: number;
  danceability: number;
  energy: number;
  key: number;
  loudness: number;
  speechiness: number;
  acousticness: number;
  instrumentalness: number;
  liveness: number;
  valence: number;
  tempo: number;
}

export interface User {
  id: number;
  name: string;
  city: string;
  street: string;
  favouriteGenres: string[];
  /** null when the delivery did not say. */
  premium: boolean | null;
}

export interface Artist {
  id: string;
  name: string;
  genres: string[];
}

export type StorageClass = "slow" | "medium" | "fast";

export interface TrackStorage {
  trackId: string;
  storageClass: StorageClass;
  dailyCost: number;
}

/**
 * Session events in columnar form (one row per kept event, in source-file order).
 * Typed arrays because the production delivery holds 4.7 M events.
 */
export interface EventTable {
  length: number;
  /** Epoch milliseconds, UTC (ISO strings without zone are read as UTC). */
  timestampMs: Float64Array;
  userId: Int32Array;
  sessionId: Int32Array;
  /** Index into `Catalog.tracks`; -1 on rows without a track (advertisement, buy_premium). */
  trackIndex: Int32Array;
  /** `EventCode` value. */
  kind: Uint8Array;
  /** 1-based line number in sessions.jsonl, for tracing a record back to its source. */
  line: Int32Array;
}

export interface Catalog {
  tracks: Track[];
  trackIndex: Map<string, number>;
  artists: Map<string, Artist>;
  users: Map<number, User>;
  storage: Map<string, TrackStorage>;
}
