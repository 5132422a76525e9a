// Hand-built catalogues and event tables for unit tests (no files involved).
import type { Artist, Catalog, EventKind, EventTable, Track, User } from "../../src/data/types.ts";
import { EventCode } from "../../src/data/types.ts";

export function track(id: string, artistId: string, overrides: Partial<Track> = {}): Track {
  return {
    id,
    name: `track ${id}`,
    popularity: 50,
    durationMs: 200_000,
    explicit: false,
    artistId,
    releaseDate: "2010-01-01",
    releaseYear: 2010,
    danceability: 0.5,
    energy: 0.6,
    key: 5,
    loudness: -7,
    speechiness: 0.05,
    acousticness: 0.2,
    instrumentalness: 0,
    liveness: 0.1,
    valence: 0.4,
    tempo: 120,
    ...overrides,
  };
}

export function makeCatalog(spec: { tracks: Track[]; artists: Artist[]; users: User[] }): Catalog {
  return {
    tracks: spec.tracks,
    trackIndex: new Map(spec.tracks.map((t, i) => [t.id, i])),
    artists: new Map(spec.artists.map((a) => [a.id, a])),
    users: new Map(spec.users.map((u) => [u.id, u])),
    storage: new Map(),
  };
}

export function user(id: number, favouriteGenres: string[], premium: boolean | null = false): User {
  return { id, name: `user ${id}`, city: "Gdańsk", street: "Długa 1", favouriteGenres, premium };
}

/** One event: [session, ISO time or epoch ms, user, event kind, track id or null]. */
export type EventRow = [number, string | number, number, EventKind, string | null];

/** Builds an event table in row order; line numbers are 1-based row numbers. */
export function makeEvents(catalog: Catalog, rows: EventRow[]): EventTable {
  const n = rows.length;
  const table: EventTable = {
    length: n,
    timestampMs: new Float64Array(n),
    userId: new Int32Array(n),
    sessionId: new Int32Array(n),
    trackIndex: new Int32Array(n),
    kind: new Uint8Array(n),
    line: new Int32Array(n),
  };
  rows.forEach(([session, time, userId, kind, trackId], i) => {
    table.sessionId[i] = session;
    table.timestampMs[i] = typeof time === "number" ? time : Date.parse(`${time}Z`);
    table.userId[i] = userId;
    table.kind[i] = EventCode[kind];
    table.trackIndex[i] = trackId === null ? -1 : (catalog.trackIndex.get(trackId) ?? -1);
    table.line[i] = i + 1;
  });
  return table;
}

/** A small world: 3 tracks by 2 artists, 2 users. */
export function smallCatalog(): Catalog {
  return makeCatalog({
    tracks: [
      track("A", "ar1", { durationMs: 180_000 }),
      track("B", "ar1", { durationMs: 240_000 }),
      track("C", "ar2", { durationMs: 300_000 }),
    ],
    artists: [
      { id: "ar1", name: "Artist 1", genres: ["rock", "pop"] },
      { id: "ar2", name: "Artist 2", genres: ["jazz"] },
    ],
    users: [user(1, ["rock"], true), user(2, ["jazz", "blues"], false)],
  });
}
