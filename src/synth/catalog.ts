// The synthetic world: artists with genres, tracks with audio features and a latent appeal, users with
// favourite genres, a hidden genre taste and a skip propensity. Everything latent lives only here and in
// the truth file; the delivery shows the observable fields.
import { type Random, randomId, WeightedSampler } from "./random.ts";
import { SKIP_MODEL } from "./skip-model.ts";
import type { SizeSpec } from "./types.ts";
import {
  ARTIST_WORDS,
  CITIES,
  FIRST_NAMES,
  GENRE_FAMILIES,
  GENRES,
  LAST_NAMES,
  STREET_NAMES,
  STREET_PREFIXES,
  TITLE_SUFFIXES,
  TITLE_WORDS,
} from "./vocabulary.ts";

export const FIRST_USER_ID = 101;
const GENRE_COUNT_WEIGHTS = [0.28, 0.25, 0.19, 0.13, 0.09, 0.06];
const HIDDEN_TASTE_GENRES = 4;

export interface SynthArtists {
  count: number;
  id: string[];
  name: string[];
  /** Genre indices (into GENRES) per artist. */
  genres: Uint8Array[];
}

export interface SynthTracks {
  count: number;
  id: string[];
  name: string[];
  artist: Int32Array;
  popularity: Uint8Array;
  durationMs: Int32Array;
  explicit: Uint8Array;
  releaseDate: string[];
  danceability: Float64Array;
  energy: Float64Array;
  key: Uint8Array;
  loudness: Float64Array;
  speechiness: Float64Array;
  acousticness: Float64Array;
  instrumentalness: Float64Array;
  liveness: Float64Array;
  valence: Float64Array;
  tempo: Float64Array;
  /** Latent: the track's contribution to the skip logit (popularity part + own noise). */
  appeal: Float64Array;
}

export interface SynthUsers {
  count: number;
  id: Int32Array;
  name: string[];
  city: string[];
  street: string[];
  favourites: Uint8Array[];
  /** Premium at the start of the period. */
  premiumAtStart: Uint8Array;
  /** Premium at the end of the period (what users.jsonl says); set by the session simulation. */
  premiumAtEnd: Uint8Array;
  /** 0-based index of the session in which the user buys premium; -1 when never. */
  upgradeSession: Int32Array;
  /** Latent skip propensity (logit offset). */
  propensity: Float64Array;
  /** Relative activity (share of sessions). */
  activity: Float64Array;
  /** Flat [user * GENRES.length + genre]: 1 when the genre is a favourite. */
  favouriteFlag: Uint8Array;
  /** Flat [user * GENRES.length + genre]: hidden taste logit offset (negative = likes it). */
  hiddenTaste: Float32Array;
  /** Genres the user listens to besides the favourites (their hidden taste decides how that goes). */
  exploreGenres: Uint8Array[];
}

export interface SynthCatalog {
  artists: SynthArtists;
  tracks: SynthTracks;
  users: SynthUsers;
  /** Per genre: sampler over the tracks carrying it (weighted by popularity) and the track indices. */
  genreTracks: { tracks: Int32Array; sampler: WeightedSampler }[];
  /** Sampler over all tracks weighted by popularity. */
  trackSampler: WeightedSampler;
}

/** Genre weights: a Zipf-like spread so a few genres (rock, pop, ...) are common and most are niche. */
function genreWeights(random: Random): Float64Array {
  const weights = new Float64Array(GENRES.length);
  const order = GENRES.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  // Leaders of each family stay popular; the rest of the ranking is shuffled.
  let start = 0;
  for (const family of GENRE_FAMILIES) {
    weights[start] = 3;
    start += family.length;
  }
  for (let rank = 0; rank < order.length; rank++) weights[order[rank]] += 1 / (1 + rank) ** 0.7;
  return weights;
}

function familyOfGenre(): Uint8Array {
  const family = new Uint8Array(GENRES.length);
  let g = 0;
  GENRE_FAMILIES.forEach((members, f) => {
    for (let i = 0; i < members.length; i++) family[g++] = f;
  });
  return family;
}

function uniqueIds(random: Random, count: number, taken: Set<string>): string[] {
  const ids: string[] = [];
  while (ids.length < count) {
    const id = randomId(random);
    if (taken.has(id)) continue;
    taken.add(id);
    ids.push(id);
  }
  return ids;
}

/** A Polish full name; surnames in -ski/-cki take the feminine -ska/-cka with a feminine first name. */
function personName(random: Random): string {
  const first = random.pick(FIRST_NAMES);
  let last = random.pick(LAST_NAMES);
  if (first.endsWith("a") && /(sk|ck|dzk)i$/.test(last)) last = `${last.slice(0, -1)}a`;
  return `${first} ${last}`;
}

function capitalised(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function artistName(random: Random): string {
  const form = random.int(4);
  if (form === 0) return personName(random);
  if (form === 1) return `The ${random.pick(ARTIST_WORDS)} ${random.pick(ARTIST_WORDS)}`;
  if (form === 2) return `${random.pick(ARTIST_WORDS)} ${random.pick(ARTIST_WORDS)}`;
  return `${random.pick(ARTIST_WORDS)} & ${random.pick(LAST_NAMES)}`;
}

function trackName(random: Random): string {
  const words = 1 + random.int(4);
  const parts: string[] = [];
  for (let i = 0; i < words; i++) parts.push(capitalised(random.pick(TITLE_WORDS)));
  const suffix = random.bernoulli(0.08) ? random.pick(TITLE_SUFFIXES) : "";
  return parts.join(" ") + suffix;
}

function drawGenreCount(random: Random): number {
  let u = random.next();
  for (let i = 0; i < GENRE_COUNT_WEIGHTS.length; i++) {
    u -= GENRE_COUNT_WEIGHTS[i];
    if (u < 0) return i + 1;
  }
  return GENRE_COUNT_WEIGHTS.length;
}

function generateArtists(
  random: Random,
  count: number,
  weights: Float64Array,
  taken: Set<string>,
): SynthArtists {
  const family = familyOfGenre();
  const familyMembers: number[][] = GENRE_FAMILIES.map(() => []);
  for (let g = 0; g < GENRES.length; g++) familyMembers[family[g]].push(g);
  const familySamplers = familyMembers.map((members) => new WeightedSampler(members.map((g) => weights[g])));
  const familyWeights = familyMembers.map((members) => members.reduce((sum, g) => sum + weights[g], 0));
  const familySampler = new WeightedSampler(familyWeights);
  const anyGenre = new WeightedSampler(weights);

  const ids = uniqueIds(random, count, taken);
  const names: string[] = [];
  const genres: Uint8Array[] = [];
  for (let a = 0; a < count; a++) {
    names.push(artistName(random));
    const f = familySampler.sample(random);
    const wanted = Math.min(drawGenreCount(random), familyMembers[f].length);
    const chosen = new Set<number>();
    while (chosen.size < wanted) {
      const sameFamily = chosen.size === 0 || random.bernoulli(0.8);
      chosen.add(sameFamily ? familyMembers[f][familySamplers[f].sample(random)] : anyGenre.sample(random));
    }
    genres.push(Uint8Array.from([...chosen].sort((x, y) => x - y)));
  }
  return { count, id: ids, name: names, genres };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function clamp(value: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, value));
}

function releaseDate(random: Random): string {
  const year = clamp(Math.round(2024 - random.exponential(14)), 1940, 2023);
  const form = random.next();
  if (form < 0.225) return String(year);
  const month = String(1 + random.int(12)).padStart(2, "0");
  if (form < 0.23) return `${year}-${month}`;
  const day = String(1 + random.int(28)).padStart(2, "0");
  return `${year}-${month}-${day}`;
}

function generateTracks(
  random: Random,
  count: number,
  artists: SynthArtists,
  taken: Set<string>,
): SynthTracks {
  const fame = new Float64Array(artists.count);
  const output = new Float64Array(artists.count);
  for (let a = 0; a < artists.count; a++) {
    fame[a] = random.normal();
    output[a] = random.logNormal(0, 1.1);
  }
  const artistSampler = new WeightedSampler(output);
  const artist = new Int32Array(count);
  for (let t = 0; t < count; t++) artist[t] = t < artists.count ? t : artistSampler.sample(random);
  // Shuffle so a track's position in the file says nothing about its artist.
  for (let i = count - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const swap = artist[i];
    artist[i] = artist[j];
    artist[j] = swap;
  }
  const tracks: SynthTracks = {
    count,
    id: uniqueIds(random, count, taken),
    name: [],
    artist,
    popularity: new Uint8Array(count),
    durationMs: new Int32Array(count),
    explicit: new Uint8Array(count),
    releaseDate: [],
    danceability: new Float64Array(count),
    energy: new Float64Array(count),
    key: new Uint8Array(count),
    loudness: new Float64Array(count),
    speechiness: new Float64Array(count),
    acousticness: new Float64Array(count),
    instrumentalness: new Float64Array(count),
    liveness: new Float64Array(count),
    valence: new Float64Array(count),
    tempo: new Float64Array(count),
    appeal: new Float64Array(count),
  };
  for (let t = 0; t < count; t++) {
    tracks.name.push(trackName(random));
    const popularity = clamp(Math.round(28 + 10 * fame[artist[t]] + 13 * random.normal()), 0, 97);
    tracks.popularity[t] = popularity;
    tracks.durationMs[t] = Math.round(clamp(random.logNormal(Math.log(215_000), 0.3), 30_000, 1_200_000));
    tracks.explicit[t] = random.bernoulli(0.04) ? 1 : 0;
    tracks.releaseDate.push(releaseDate(random));
    const energy = clamp(random.beta(2.2, 1.8), 0.001, 0.999);
    tracks.energy[t] = round(energy, 3);
    tracks.danceability[t] = round(clamp(random.gaussian(0.55, 0.15), 0.05, 0.98), 3);
    tracks.key[t] = random.int(12);
    tracks.loudness[t] = round(clamp(-17 + 13 * energy + random.gaussian(0, 2.5), -40, 0), 3);
    tracks.speechiness[t] = round(clamp(random.logNormal(Math.log(0.045), 0.6), 0.022, 0.95), 4);
    tracks.acousticness[t] = round(clamp((1 - energy) * random.beta(1.2, 0.8), 0, 0.996), 4);
    tracks.instrumentalness[t] = random.bernoulli(0.35)
      ? 0
      : round(clamp(random.logNormal(-9, 3), 0, 0.99), 6);
    tracks.liveness[t] = round(clamp(random.logNormal(Math.log(0.15), 0.55), 0.015, 0.99), 4);
    tracks.valence[t] = round(clamp(random.beta(2, 1.8), 0.01, 0.99), 3);
    tracks.tempo[t] = round(clamp(random.gaussian(119, 28), 50, 220), 3);
    tracks.appeal[t] =
      (SKIP_MODEL.popularityPer10 * (popularity - SKIP_MODEL.popularityCentre)) / 10 +
      SKIP_MODEL.trackSd * random.normal();
  }
  return tracks;
}

function generateUsers(
  random: Random,
  count: number,
  genreWeights: Float64Array,
  artists: SynthArtists,
): SynthUsers {
  const genreCount = GENRES.length;
  const family = familyOfGenre();
  // Users only love or explore genres the catalogue actually carries (matters for small catalogues).
  const carried = new Uint8Array(genreCount);
  for (const list of artists.genres) for (const g of list) carried[g] = 1;
  const weights = genreWeights.map((w, g) => (carried[g] ? w : 0));
  const anyGenre = new WeightedSampler(weights);
  const users: SynthUsers = {
    count,
    id: new Int32Array(count),
    name: [],
    city: [],
    street: [],
    favourites: [],
    premiumAtStart: new Uint8Array(count),
    premiumAtEnd: new Uint8Array(count),
    upgradeSession: new Int32Array(count).fill(-1),
    propensity: new Float64Array(count),
    activity: new Float64Array(count),
    favouriteFlag: new Uint8Array(count * genreCount),
    hiddenTaste: new Float32Array(count * genreCount),
    exploreGenres: [],
  };
  for (let u = 0; u < count; u++) {
    users.id[u] = FIRST_USER_ID + u;
    users.name.push(personName(random));
    users.city.push(random.pick(CITIES));
    const flat = random.bernoulli(0.6) ? `/${String(1 + random.int(80)).padStart(2, "0")}` : "";
    users.street.push(
      `${random.pick(STREET_PREFIXES)} ${random.pick(STREET_NAMES)} ${1 + random.int(120)}${flat}`,
    );
    const favourites = new Set<number>();
    for (let attempt = 0; favourites.size < 3 && attempt < 1000; attempt++)
      favourites.add(anyGenre.sample(random));
    const favouriteList = [...favourites];
    users.favourites.push(Uint8Array.from(favouriteList));
    for (const g of favouriteList) users.favouriteFlag[u * genreCount + g] = 1;
    // Explore genres: half next to a favourite (same family), half anywhere; each with a hidden taste.
    const explore = new Set<number>();
    for (let attempt = 0; explore.size < HIDDEN_TASTE_GENRES && attempt < 1000; attempt++) {
      let g: number;
      if (explore.size % 2 === 0) {
        const f = family[random.pick(favouriteList)];
        const members = GENRES.map((_, i) => i).filter((i) => family[i] === f && carried[i] === 1);
        g = random.pick(members);
      } else {
        g = anyGenre.sample(random);
      }
      if (!favourites.has(g)) explore.add(g);
    }
    users.exploreGenres.push(Uint8Array.from(explore));
    for (const g of explore)
      users.hiddenTaste[u * genreCount + g] = SKIP_MODEL.hiddenTasteSd * random.normal();
    users.premiumAtStart[u] = random.bernoulli(SKIP_MODEL.premiumShareAtStart) ? 1 : 0;
    users.premiumAtEnd[u] = users.premiumAtStart[u];
    users.propensity[u] = SKIP_MODEL.userSd * random.normal();
    users.activity[u] = random.logNormal(0, 0.9);
  }
  // Centre the propensities (weighted by activity, i.e. by expected listens) so the overall skip share
  // does not swing with a handful of heavy users in small deliveries.
  let weighted = 0;
  let activity = 0;
  for (let u = 0; u < count; u++) {
    weighted += users.activity[u] * users.propensity[u];
    activity += users.activity[u];
  }
  for (let u = 0; u < count; u++) users.propensity[u] -= weighted / activity;
  return users;
}

function buildGenreTracks(tracks: SynthTracks, artists: SynthArtists): SynthCatalog["genreTracks"] {
  const members: number[][] = GENRES.map(() => []);
  for (let t = 0; t < tracks.count; t++) for (const g of artists.genres[tracks.artist[t]]) members[g].push(t);
  return members.map((list) => {
    const trackList = Int32Array.from(list);
    const w = new Float64Array(trackList.length);
    for (let i = 0; i < trackList.length; i++) w[i] = choiceWeight(tracks.popularity[trackList[i]]);
    return { tracks: trackList, sampler: new WeightedSampler(w) };
  });
}

/** How much more often a popular track is chosen than an obscure one. */
function choiceWeight(popularity: number): number {
  return Math.exp(popularity / 15);
}

export function generateCatalog(random: Random, size: SizeSpec): SynthCatalog {
  const weights = genreWeights(random);
  const taken = new Set<string>();
  const artists = generateArtists(random, size.artists, weights, taken);
  const tracks = generateTracks(random, size.tracks, artists, taken);
  const users = generateUsers(random, size.users, weights, artists);
  const genreTracks = buildGenreTracks(tracks, artists);
  const w = new Float64Array(tracks.count);
  for (let t = 0; t < tracks.count; t++) w[t] = choiceWeight(tracks.popularity[t]);
  return { artists, tracks, users, genreTracks, trackSampler: new WeightedSampler(w) };
}
