// What the catalogue says about the track and the user: genre match, favourite-genre indicators,
// track audio and release facts, premium. Unknown track or user → NaN.
import type { CatalogIndex } from "./catalog-index.ts";
import { COL, FAVOURITE_GENRE_SLOTS, TRACK_FEATURES } from "./schema.ts";

const TRACK_STATIC_COUNT = TRACK_FEATURES.length;

/**
 * `catalogUser` = index among the catalogue's users, -1 when the user is not in users.jsonl;
 * `premium` = the user's current status as the state resolved it (1 / 0 / NaN).
 */
export function writeContent(
  index: CatalogIndex,
  catalogUser: number,
  premium: number,
  track: number,
  out: Float32Array,
  base: number,
): void {
  out[base + COL.premium] = premium;
  const fav = base + COL.favourites;
  if (catalogUser < 0) {
    for (let k = 0; k < FAVOURITE_GENRE_SLOTS; k++) out[fav + k] = Number.NaN;
  } else {
    for (let k = 0; k < FAVOURITE_GENRE_SLOTS; k++) out[fav + k] = 0;
    for (let i = index.favouriteStart[catalogUser]; i < index.favouriteStart[catalogUser + 1]; i++) {
      const slot = index.favouriteSlotOfGenre[index.favouriteGenres[i]];
      if (slot >= 0) out[fav + slot] = 1;
    }
  }

  if (track < 0) {
    for (let k = 0; k < TRACK_STATIC_COUNT; k++) out[base + COL.popularity + k] = Number.NaN;
    out[base + COL.trackGenreCount] = Number.NaN;
    out[base + COL.genreMatch] = Number.NaN;
    out[base + COL.genreMatchCount] = Number.NaN;
    return;
  }
  const from = track * TRACK_STATIC_COUNT;
  const to = base + COL.popularity;
  for (let k = 0; k < TRACK_STATIC_COUNT; k++) out[to + k] = index.trackStatic[from + k];

  const artist = index.trackArtist[track];
  const gFrom = index.artistGenreStart[artist];
  const gTo = index.artistGenreStart[artist + 1];
  out[base + COL.trackGenreCount] = gTo - gFrom;
  if (catalogUser < 0) {
    out[base + COL.genreMatch] = Number.NaN;
    out[base + COL.genreMatchCount] = Number.NaN;
    return;
  }
  let matches = 0;
  const fFrom = index.favouriteStart[catalogUser];
  const fTo = index.favouriteStart[catalogUser + 1];
  for (let g = gFrom; g < gTo; g++) {
    const genre = index.artistGenres[g];
    for (let f = fFrom; f < fTo; f++) {
      if (index.favouriteGenres[f] === genre) {
        matches++;
        break;
      }
    }
  }
  out[base + COL.genreMatch] = matches > 0 ? 1 : 0;
  out[base + COL.genreMatchCount] = matches;
}
