// Catalogue facts the features read, interned once into typed arrays: track content, artist genres,
// users' favourite genres and premium flag. Built deterministically from the catalogue, so a restored
// state rebuilds the same index and only the counters travel in the snapshot.
import type { Catalog, Track } from "../data/types.ts";
import { FAVOURITE_GENRE_SLOTS, TASTE_DIMENSIONS, TASTE_FEATURES, TRACK_FEATURES } from "./schema.ts";

const TRACK_STATIC_COUNT = TRACK_FEATURES.length;

export class CatalogIndex {
  readonly trackCount: number;
  /** Row-major [track × TRACK_FEATURES] content values. */
  readonly trackStatic: Float32Array;
  /** Row-major [track × TASTE_FEATURES], each column standardised over the catalogue (NaN → 0). */
  readonly trackTaste: Float32Array;
  /** Artist slot of each track (artists of the catalogue first, then ids only tracks name). */
  readonly trackArtist: Int32Array;
  readonly artistCount: number;
  /** CSR: genres of artist a are genreIds[artistGenreStart[a] .. artistGenreStart[a + 1]). */
  readonly artistGenreStart: Int32Array;
  readonly artistGenres: Int32Array;
  readonly genreCount: number;
  /** Catalogue users: their ids in catalogue order, then per user the CSR of favourite genres. */
  readonly userIds: Int32Array;
  readonly favouriteStart: Int32Array;
  readonly favouriteGenres: Int32Array;
  /** 1 premium, 0 not, -1 unknown — per catalogue user. */
  readonly premium: Int8Array;
  /** Indicator slot of each genre id, -1 when it is not one of the top favourite genres. */
  readonly favouriteSlotOfGenre: Int16Array;
  /** The genres behind `fav_genre_0..K-1`. */
  readonly favouriteVocabulary: readonly string[];
  /** Changes when the catalogue's tracks, artists or users change. */
  readonly fingerprint: string;

  constructor(catalog: Catalog) {
    const genreIds = new Map<string, number>();
    const genreOf = (name: string) => {
      let id = genreIds.get(name);
      if (id === undefined) {
        id = genreIds.size;
        genreIds.set(name, id);
      }
      return id;
    };

    const artistSlots = new Map<string, number>();
    const artistGenreLists: number[][] = [];
    const internArtist = (id: string, genres: readonly string[]) => {
      let slot = artistSlots.get(id);
      if (slot === undefined) {
        slot = artistSlots.size;
        artistSlots.set(id, slot);
        artistGenreLists.push([...new Set(genres.map(genreOf))]);
      }
      return slot;
    };
    for (const artist of catalog.artists.values()) internArtist(artist.id, artist.genres);

    this.trackCount = catalog.tracks.length;
    this.trackStatic = new Float32Array(this.trackCount * TRACK_STATIC_COUNT);
    this.trackArtist = new Int32Array(this.trackCount);
    for (let t = 0; t < this.trackCount; t++) {
      const track = catalog.tracks[t];
      this.trackArtist[t] = internArtist(track.artistId, []);
      writeTrackStatic(track, this.trackStatic, t * TRACK_STATIC_COUNT);
    }
    this.trackTaste = standardisedTaste(this.trackStatic, this.trackCount);
    this.artistCount = artistSlots.size;
    [this.artistGenreStart, this.artistGenres] = toCsr(artistGenreLists);

    const users = [...catalog.users.values()];
    this.userIds = Int32Array.from(users, (u) => u.id);
    this.premium = Int8Array.from(users, (u) => (u.premium === null ? -1 : u.premium ? 1 : 0));
    [this.favouriteStart, this.favouriteGenres] = toCsr(
      users.map((u) => [...new Set(u.favouriteGenres.map(genreOf))]),
    );

    this.genreCount = genreIds.size;
    this.favouriteVocabulary = topFavouriteGenres(users.map((u) => u.favouriteGenres));
    this.favouriteSlotOfGenre = new Int16Array(this.genreCount).fill(-1);
    this.favouriteVocabulary.forEach((name, slot) => {
      this.favouriteSlotOfGenre[genreIds.get(name) as number] = slot;
    });

    this.fingerprint = fingerprintOf(catalog, [...artistSlots.keys()]);
  }
}

/** The K genres most often named as favourites (ties by name), padded with nothing when fewer exist. */
function topFavouriteGenres(favourites: readonly string[][]): string[] {
  const counts = new Map<string, number>();
  for (const list of favourites) for (const g of new Set(list)) counts.set(g, (counts.get(g) ?? 0) + 1);
  return [...counts.entries()]
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    .slice(0, FAVOURITE_GENRE_SLOTS)
    .map(([g]) => g);
}

function writeTrackStatic(track: Track, out: Float32Array, at: number): void {
  out[at] = track.popularity;
  out[at + 1] = track.durationMs;
  out[at + 2] = track.explicit ? 1 : 0;
  out[at + 3] = track.releaseYear;
  out[at + 4] = track.danceability;
  out[at + 5] = track.energy;
  out[at + 6] = track.key;
  out[at + 7] = track.loudness;
  out[at + 8] = track.speechiness;
  out[at + 9] = track.acousticness;
  out[at + 10] = track.instrumentalness;
  out[at + 11] = track.liveness;
  out[at + 12] = track.valence;
  out[at + 13] = track.tempo;
}

function standardisedTaste(trackStatic: Float32Array, tracks: number): Float32Array {
  const out = new Float32Array(tracks * TASTE_DIMENSIONS);
  TASTE_FEATURES.forEach((name, k) => {
    const column = (TRACK_FEATURES as readonly string[]).indexOf(name);
    let n = 0;
    let sum = 0;
    let sumSq = 0;
    for (let t = 0; t < tracks; t++) {
      const v = trackStatic[t * TRACK_STATIC_COUNT + column];
      if (!Number.isFinite(v)) continue;
      n++;
      sum += v;
      sumSq += v * v;
    }
    const mean = n > 0 ? sum / n : 0;
    const sd = n > 1 ? Math.sqrt(Math.max(0, sumSq / n - mean * mean)) : 0;
    for (let t = 0; t < tracks; t++) {
      const v = trackStatic[t * TRACK_STATIC_COUNT + column];
      out[t * TASTE_DIMENSIONS + k] = Number.isFinite(v) && sd > 0 ? (v - mean) / sd : 0;
    }
  });
  return out;
}

function toCsr(lists: readonly number[][]): [Int32Array, Int32Array] {
  const start = new Int32Array(lists.length + 1);
  for (let i = 0; i < lists.length; i++) start[i + 1] = start[i] + lists[i].length;
  const values = new Int32Array(start[lists.length]);
  for (let i = 0; i < lists.length; i++) values.set(lists[i], start[i]);
  return [start, values];
}

/** FNV-1a (32-bit) over the ordered ids and genres the index depends on, as 8 hex digits plus sizes. */
function fingerprintOf(catalog: Catalog, artistOrder: readonly string[]): string {
  let h = 0x811c9dc5;
  const feed = (s: string) => {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0x1f, 0x01000193);
  };
  for (const t of catalog.tracks) feed(`${t.id}\u0001${t.durationMs}\u0001${t.artistId}`);
  for (const a of artistOrder) feed(a);
  for (const a of catalog.artists.values()) feed(a.genres.join("\u0001"));
  for (const u of catalog.users.values())
    feed(`${u.id}\u0001${u.favouriteGenres.join("\u0001")}\u0001${u.premium}`);
  return `${(h >>> 0).toString(16).padStart(8, "0")}:${catalog.tracks.length}/${artistOrder.length}/${catalog.users.size}`;
}
