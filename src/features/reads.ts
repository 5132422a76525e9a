// What a feature vector reads from the state, and the one computation from those numbers to the vector's
// columns. The in-process families fill a `VectorReads` from their typed arrays; the Redis store fills it
// from one pipelined reply (src/features/redis-store.ts). Both then write through the functions below, so a
// vector computed from Redis is the in-process vector bit for bit.
import { COL, TASTE_DIMENSIONS } from "./schema.ts";
import { smoothedRate } from "./smoothing.ts";
import type { FeatureOptions, SessionOverride } from "./types.ts";

const K = TASTE_DIMENSIONS;
/** 30 days: longer gaps read as this one. */
const MAX_GAP_HOURS = 720;
const MS_PER_HOUR = 3_600_000;
/** 24 hours. */
const MAX_SESSION_ELAPSED_MS = 86_400_000;

/** The tallies of one (user, track, session) query; a reused scratch object, reset by every fill. */
export class VectorReads {
  globalListens = 0;
  globalSkips = 0;
  globalLikes = 0;
  globalHeardCount = 0;
  globalHeardSum = 0;
  /** The user has a slot in the state. */
  userKnown = false;
  userListens = 0;
  userSkips = 0;
  userLikes = 0;
  userHeardCount = 0;
  userHeardSum = 0;
  /** Start of the user's latest observed listen, NaN before any. */
  userLastMs = Number.NaN;
  /** Tally of the user under the premium status the query resolved (0 / 0 when none). */
  statusListens = 0;
  statusSkips = 0;
  trackListens = 0;
  trackSkips = 0;
  trackHeardCount = 0;
  trackHeardSum = 0;
  artistListens = 0;
  artistSkips = 0;
  /** Pair tallies; `found` = the pair was ever observed. */
  userArtistFound = false;
  userArtistListens = 0;
  userArtistSkips = 0;
  userTrackFound = false;
  userTrackListens = 0;
  userTrackSkips = 0;
  userTrackLikes = 0;
  /** One entry per genre of the track's artist, in the catalogue index's order. */
  genreCount = 0;
  genreFound = new Uint8Array(8);
  genreListens = new Float64Array(8);
  genreSkips = new Float64Array(8);
  /** Taste: the user's sums and counts of played-out / skipped audio vectors, and everyone's. */
  tastePlayedCount = 0;
  tasteSkippedCount = 0;
  readonly tastePlayedSum = new Float64Array(K);
  readonly tasteSkippedSum = new Float64Array(K);
  tasteGlobalPlayed = 0;
  tasteGlobalSkipped = 0;
  readonly tasteGlobalPlayedSum = new Float64Array(K);
  readonly tasteGlobalSkippedSum = new Float64Array(K);
  /** The session family's record of the query's session. */
  sessionRecorded = false;
  sessionListens = 0;
  sessionSkips = 0;
  sessionLastSkipped = 0;
  sessionLastHeardFraction = Number.NaN;
  sessionStartMs = Number.NaN;

  /** Room for `n` genres (entries zeroed). */
  setGenreCount(n: number): void {
    if (n > this.genreFound.length) {
      const c = Math.max(n, this.genreFound.length * 2);
      this.genreFound = new Uint8Array(c);
      this.genreListens = new Float64Array(c);
      this.genreSkips = new Float64Array(c);
    }
    this.genreCount = n;
  }
}

/** `hours_since_user_last_listen`: NaN for an unknown user or one never observed. */
export function writeUserColumns(r: VectorReads, timestampMs: number, out: Float32Array, base: number): void {
  // Capped so that a bundle served long after its data (or a clock far ahead) reads "long ago",
  // a value training has seen, instead of a gap no model was fitted on.
  out[base + COL.hoursSinceUserLastListen] = r.userKnown
    ? Math.min(Math.max((timestampMs - r.userLastMs) / MS_PER_HOUR, 0), MAX_GAP_HOURS)
    : Number.NaN;
}

/**
 * The history columns; returns the user's smoothed skip rate (the prior of its pairs and session).
 * `premium` = the user's status now (1 / 0 / NaN unknown); `track` < 0 = unknown track.
 */
export function writeHistoryColumns(
  r: VectorReads,
  o: FeatureOptions,
  track: number,
  premium: number,
  out: Float32Array,
  base: number,
): number {
  const globalRate = smoothedRate(r.globalSkips, r.globalListens, o.globalPrior, o.globalPriorStrength);
  const globalHeard = smoothedRate(
    r.globalHeardSum,
    r.globalHeardCount,
    1 - o.globalPrior,
    o.globalPriorStrength,
  );
  const globalLike = smoothedRate(r.globalLikes, r.globalListens, 0, o.globalPriorStrength);
  out[base + COL.globalSkipRate] = globalRate;

  const known = r.userKnown;
  const uListens = known ? r.userListens : 0;
  const userRate = smoothedRate(known ? r.userSkips : 0, uListens, globalRate, o.priorStrength);
  out[base + COL.userSkipRate] = userRate;
  out[base + COL.userStatusSkipRate] =
    known && (premium === 0 || premium === 1)
      ? smoothedRate(r.statusSkips, r.statusListens, userRate, o.pairPriorStrength)
      : userRate;
  out[base + COL.userListens] = uListens;
  out[base + COL.userHeardFraction] = known
    ? smoothedRate(r.userHeardSum, r.userHeardCount, globalHeard, o.priorStrength)
    : globalHeard;
  out[base + COL.userLikeRate] = smoothedRate(known ? r.userLikes : 0, uListens, globalLike, o.priorStrength);

  const ps = o.pairPriorStrength;
  if (track < 0) {
    out[base + COL.trackSkipRate] = globalRate;
    out[base + COL.trackListens] = 0;
    out[base + COL.trackHeardFraction] = globalHeard;
    out[base + COL.artistSkipRate] = globalRate;
    out[base + COL.artistListens] = 0;
    out[base + COL.userArtistSkipRate] = userRate;
    out[base + COL.userArtistListens] = 0;
    out[base + COL.userGenreSkipRate] = userRate;
    out[base + COL.userGenreListens] = 0;
    out[base + COL.userGenreLogitSum] = 0;
    out[base + COL.userTrackSkipRate] = userRate;
    out[base + COL.userTrackListens] = 0;
    out[base + COL.likedBefore] = 0;
    return userRate;
  }
  out[base + COL.trackSkipRate] = smoothedRate(r.trackSkips, r.trackListens, globalRate, o.priorStrength);
  out[base + COL.trackListens] = r.trackListens;
  out[base + COL.trackHeardFraction] = smoothedRate(
    r.trackHeardSum,
    r.trackHeardCount,
    globalHeard,
    o.priorStrength,
  );
  out[base + COL.artistSkipRate] = smoothedRate(r.artistSkips, r.artistListens, globalRate, o.priorStrength);
  out[base + COL.artistListens] = r.artistListens;

  const ua = known && r.userArtistFound;
  const uaListens = ua ? r.userArtistListens : 0;
  out[base + COL.userArtistSkipRate] = smoothedRate(ua ? r.userArtistSkips : 0, uaListens, userRate, ps);
  out[base + COL.userArtistListens] = uaListens;

  let genreListens = 0;
  let genreSkips = 0;
  // Sum over the track's genres of how far the user's smoothed log-odds for that genre sit from
  // their overall log-odds: genre effects that add up (a track has several genres) stay additive.
  let taste = 0;
  if (known) {
    const userLogit = logit(userRate);
    for (let i = 0; i < r.genreCount; i++) {
      if (r.genreFound[i] === 0) continue;
      const listens = r.genreListens[i];
      const skips = r.genreSkips[i];
      genreListens += listens;
      genreSkips += skips;
      taste += logit(smoothedRate(skips, listens, userRate, ps)) - userLogit;
    }
  }
  out[base + COL.userGenreSkipRate] = smoothedRate(genreSkips, genreListens, userRate, ps);
  out[base + COL.userGenreListens] = genreListens;
  out[base + COL.userGenreLogitSum] = taste;

  const ut = known && r.userTrackFound;
  const utListens = ut ? r.userTrackListens : 0;
  out[base + COL.userTrackSkipRate] = smoothedRate(ut ? r.userTrackSkips : 0, utListens, userRate, ps);
  out[base + COL.userTrackListens] = utListens;
  out[base + COL.likedBefore] = ut && r.userTrackLikes > 0 ? 1 : 0;
  return userRate;
}

/**
 * The taste columns for the track's standardised audio vector `x[from .. from + K)` (`from` < 0 = unknown
 * track → NaN); an unknown user reads the global means.
 */
export function writeTasteColumns(
  r: VectorReads,
  x: Float32Array,
  from: number,
  strength: number,
  out: Float32Array,
  base: number,
): void {
  if (from < 0) {
    out[base + COL.tastePlayed] = Number.NaN;
    out[base + COL.tasteSkipped] = Number.NaN;
    out[base + COL.tasteScore] = Number.NaN;
    return;
  }
  const known = r.userKnown;
  const nPlayed = known ? r.tastePlayedCount : 0;
  const nSkipped = known ? r.tasteSkippedCount : 0;
  const gPlayed = r.tasteGlobalPlayed;
  const gSkipped = r.tasteGlobalSkipped;
  // Smoothed means: (user sum + strength × global mean) / (user count + strength); the global mean is
  // the catalogue mean (0 after standardising) until something was observed.
  const wPlayed = gPlayed > 0 ? strength / gPlayed : 0;
  const wSkipped = gSkipped > 0 ? strength / gSkipped : 0;
  const dPlayedDen = nPlayed + strength;
  const dSkippedDen = nSkipped + strength;
  let dPlayed = 0;
  let dSkipped = 0;
  for (let k = 0; k < K; k++) {
    const v = x[from + k];
    const ownPlayed = known ? r.tastePlayedSum[k] : 0;
    const ownSkipped = known ? r.tasteSkippedSum[k] : 0;
    const mp = v - (ownPlayed + wPlayed * r.tasteGlobalPlayedSum[k]) / dPlayedDen;
    const ms = v - (ownSkipped + wSkipped * r.tasteGlobalSkippedSum[k]) / dSkippedDen;
    dPlayed += mp * mp;
    dSkipped += ms * ms;
  }
  out[base + COL.tastePlayed] = dPlayed / K;
  out[base + COL.tasteSkipped] = dSkipped / K;
  out[base + COL.tasteScore] = (dPlayed - dSkipped) / K;
}

/**
 * The session columns. Without a record or override the listen opens a new session (position 0, nothing
 * before it). `userRate` is the prior of the session's skip rate.
 */
export function writeSessionColumns(
  r: VectorReads,
  override: SessionOverride | undefined,
  timestampMs: number,
  userRate: number,
  pairPriorStrength: number,
  out: Float32Array,
  base: number,
): void {
  const recorded = r.sessionRecorded;
  const position = override?.position ?? (recorded ? r.sessionListens : 0);
  // Counts are known when the record covers every listen before this one (or there are none).
  const countsKnown = recorded ? r.sessionListens === position : position === 0;
  const skips = countsKnown ? (recorded ? r.sessionSkips : 0) : Number.NaN;
  const hasPrevious = recorded && countsKnown && r.sessionListens > 0;
  let prevSkipped = hasPrevious ? r.sessionLastSkipped : Number.NaN;
  let prevFraction = hasPrevious ? r.sessionLastHeardFraction : Number.NaN;
  if (override?.previousSkipped !== undefined) {
    prevSkipped = override.previousSkipped === null ? Number.NaN : override.previousSkipped ? 1 : 0;
    if (!countsKnown || override.previousSkipped === null) prevFraction = Number.NaN;
  }
  const start = override?.sessionStartMs ?? (recorded ? r.sessionStartMs : timestampMs);

  out[base + COL.sessionPosition] = position;
  out[base + COL.sessionSkips] = skips;
  out[base + COL.sessionPlays] = countsKnown ? position - skips : Number.NaN;
  out[base + COL.sessionPrevSkipped] = prevSkipped;
  out[base + COL.sessionPrevHeardFraction] = prevFraction;
  out[base + COL.sessionSkipRate] = countsKnown
    ? smoothedRate(skips, position, userRate, pairPriorStrength)
    : userRate;
  // Capped like the user gap: a session record older than a day reads as a day-long session.
  out[base + COL.sessionElapsedMs] = Math.min(Math.max(timestampMs - start, 0), MAX_SESSION_ELAPSED_MS);
}

function logit(p: number): number {
  return Math.log(p / (1 - p));
}
