// Feature names and order: the contract between FeatureState, stored models and the server.
// Any change of names or order must bump FEATURE_SCHEMA.version so old bundles are refused.

/** Number of favourite-genre indicator slots (the catalogue users' K most frequent favourite genres). */
export const FAVOURITE_GENRE_SLOTS = 16;

const HISTORY = [
  "global_skip_rate",
  "user_skip_rate",
  "user_listens",
  "user_heard_fraction",
  "user_like_rate",
  "user_status_skip_rate",
  "hours_since_user_last_listen",
  "track_skip_rate",
  "track_listens",
  "track_heard_fraction",
  "artist_skip_rate",
  "artist_listens",
  "user_artist_skip_rate",
  "user_artist_listens",
  "user_genre_skip_rate",
  "user_genre_listens",
  "user_genre_logit_sum",
  "user_track_skip_rate",
  "user_track_listens",
  "liked_before",
] as const;

const GENRE = ["genre_match", "genre_match_count", "track_genre_count"] as const;

const FAVOURITES = Array.from({ length: FAVOURITE_GENRE_SLOTS }, (_, k) => `fav_genre_${k}`);

const TRACK = [
  "popularity",
  "duration_ms",
  "explicit",
  "release_year",
  "danceability",
  "energy",
  "key",
  "loudness",
  "speechiness",
  "acousticness",
  "instrumentalness",
  "liveness",
  "valence",
  "tempo",
] as const;

/** Audio features standardised (catalogue mean 0, sd 1) for the taste distances. */
export const TASTE_FEATURES = [
  "duration_ms",
  "danceability",
  "energy",
  "loudness",
  "speechiness",
  "acousticness",
  "instrumentalness",
  "liveness",
  "valence",
  "tempo",
] as const;
export const TASTE_DIMENSIONS = TASTE_FEATURES.length;

const TASTE = ["taste_distance_played", "taste_distance_skipped", "taste_score"] as const;

const USER = ["premium"] as const;

const TIME = ["hour", "weekday"] as const;

const SESSION = [
  "session_position",
  "session_skips",
  "session_plays",
  "session_prev_skipped",
  "session_prev_heard_fraction",
  "session_skip_rate",
  "session_elapsed_ms",
] as const;

export const FEATURE_SCHEMA: { readonly version: string; readonly names: readonly string[] } = Object.freeze({
  version: "skipwise-features/4",
  names: Object.freeze([
    ...HISTORY,
    ...GENRE,
    ...FAVOURITES,
    ...TRACK,
    ...TASTE,
    ...USER,
    ...TIME,
    ...SESSION,
  ]),
});

export const FEATURE_COUNT = FEATURE_SCHEMA.names.length;

function offsetOf(name: string): number {
  const i = FEATURE_SCHEMA.names.indexOf(name);
  if (i < 0) throw new Error(`feature "${name}" is not in the schema`);
  return i;
}

/** Column of each named feature (favourite slots: `FAVOURITES_OFFSET + k`). */
export const COL = {
  globalSkipRate: offsetOf("global_skip_rate"),
  userSkipRate: offsetOf("user_skip_rate"),
  userListens: offsetOf("user_listens"),
  userHeardFraction: offsetOf("user_heard_fraction"),
  userLikeRate: offsetOf("user_like_rate"),
  userStatusSkipRate: offsetOf("user_status_skip_rate"),
  hoursSinceUserLastListen: offsetOf("hours_since_user_last_listen"),
  trackSkipRate: offsetOf("track_skip_rate"),
  trackListens: offsetOf("track_listens"),
  trackHeardFraction: offsetOf("track_heard_fraction"),
  artistSkipRate: offsetOf("artist_skip_rate"),
  artistListens: offsetOf("artist_listens"),
  userArtistSkipRate: offsetOf("user_artist_skip_rate"),
  userArtistListens: offsetOf("user_artist_listens"),
  userGenreSkipRate: offsetOf("user_genre_skip_rate"),
  userGenreListens: offsetOf("user_genre_listens"),
  userGenreLogitSum: offsetOf("user_genre_logit_sum"),
  userTrackSkipRate: offsetOf("user_track_skip_rate"),
  userTrackListens: offsetOf("user_track_listens"),
  likedBefore: offsetOf("liked_before"),
  genreMatch: offsetOf("genre_match"),
  genreMatchCount: offsetOf("genre_match_count"),
  trackGenreCount: offsetOf("track_genre_count"),
  favourites: offsetOf("fav_genre_0"),
  popularity: offsetOf("popularity"),
  tastePlayed: offsetOf("taste_distance_played"),
  tasteSkipped: offsetOf("taste_distance_skipped"),
  tasteScore: offsetOf("taste_score"),
  premium: offsetOf("premium"),
  hour: offsetOf("hour"),
  weekday: offsetOf("weekday"),
  sessionPosition: offsetOf("session_position"),
  sessionSkips: offsetOf("session_skips"),
  sessionPlays: offsetOf("session_plays"),
  sessionPrevSkipped: offsetOf("session_prev_skipped"),
  sessionPrevHeardFraction: offsetOf("session_prev_heard_fraction"),
  sessionSkipRate: offsetOf("session_skip_rate"),
  sessionElapsedMs: offsetOf("session_elapsed_ms"),
} as const;

/** Track columns in schema order, starting at `COL.popularity`. */
export const TRACK_FEATURES = TRACK;
