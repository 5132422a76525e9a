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

/** The catalogue's continuous audio features of a track (tracks.jsonl), the categorical `key` aside. */
export const AUDIO_FEATURES = [
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

/** Audio features standardised (catalogue mean 0, sd 1) for the taste distances. */
export const TASTE_FEATURES = ["duration_ms", ...AUDIO_FEATURES] as const;
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
  version: "skipwise-features/5",
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

const FAVOURITE_DESCRIPTIONS = Object.fromEntries(
  FAVOURITES.map((name, k) => [
    name,
    `1 when the user names the catalogue's favourite genre #${k + 1} (by frequency)`,
  ]),
);

/** One line per feature, for reports and `--help` texts. Rates are smoothed (see FeatureOptions). */
export const FEATURE_DESCRIPTIONS: Readonly<Record<string, string>> = Object.freeze({
  global_skip_rate: "skip share of every listen observed so far (the prior)",
  user_skip_rate: "the user's skip rate, smoothed toward the global rate",
  user_listens: "listens of the user observed so far",
  user_heard_fraction: "mean fraction of a track the user hears",
  user_like_rate: "share of the user's listens with a like",
  user_status_skip_rate: "the user's skip rate over listens with the same premium status as now",
  hours_since_user_last_listen:
    "hours since the user's previous finished listen started, capped at 720 (30 days)",
  track_skip_rate: "the track's skip rate, smoothed toward the global rate",
  track_listens: "listens of the track observed so far",
  track_heard_fraction: "mean fraction of the track heard",
  artist_skip_rate: "skip rate of the track's artist",
  artist_listens: "listens of the artist observed so far",
  user_artist_skip_rate: "the user's skip rate on this artist, smoothed toward the user's rate",
  user_artist_listens: "the user's listens of this artist",
  user_genre_skip_rate: "the user's skip rate over the artist's genres, smoothed toward the user's rate",
  user_genre_listens: "the user's listens summed over the artist's genres",
  user_genre_logit_sum:
    "sum over the artist's genres of the user's genre log-odds minus their overall log-odds",
  user_track_skip_rate: "the user's skip rate on this very track",
  user_track_listens: "the user's earlier listens of this track",
  liked_before: "1 when the user liked this track during an earlier listen",
  genre_match: "1 when a genre of the track's artist is among the user's favourite genres",
  genre_match_count: "number of the artist's genres among the user's favourites",
  track_genre_count: "number of genres of the track's artist",
  ...FAVOURITE_DESCRIPTIONS,
  popularity: "track popularity (0-100)",
  duration_ms: "track duration in ms",
  explicit: "1 when the track is explicit",
  release_year: "year of release",
  danceability: "audio: danceability",
  energy: "audio: energy",
  key: "audio: key (0-11)",
  loudness: "audio: loudness (dB)",
  speechiness: "audio: speechiness",
  acousticness: "audio: acousticness",
  instrumentalness: "audio: instrumentalness",
  liveness: "audio: liveness",
  valence: "audio: valence",
  tempo: "audio: tempo (BPM)",
  taste_distance_played: "distance of the track's audio to what the user played out",
  taste_distance_skipped: "distance of the track's audio to what the user skipped",
  taste_score: "played distance minus skipped distance (negative = sounds like the user's full plays)",
  premium: "1 when the user is premium at the listen (purchases dated by buy_premium events)",
  hour: "hour of day of the listen (as written in the log)",
  weekday: "day of week (0 = Sunday)",
  session_position: "0-based position of the listen in its session",
  session_skips: "skips earlier in the session",
  session_plays: "full plays earlier in the session",
  session_prev_skipped: "1 when the previous listen of the session was skipped, NaN at the first",
  session_prev_heard_fraction: "fraction heard of the previous listen of the session",
  session_skip_rate: "the session's skip rate so far, smoothed toward the user's rate",
  session_elapsed_ms: "ms since the session's first event, capped at 24 h",
});
