// Simulates listening sessions user by user: which track comes next, whether it is skipped (drawn from the
// latent skip model), when the skip happens, likes during a play, ads between listens for non-premium users,
// and premium purchases. Produces one session at a time in a reusable columnar buffer.
import { EventCode } from "../data/types.ts";
import type { SynthCatalog } from "./catalog.ts";
import type { Random, RandomState } from "./random.ts";
import { driftedLogit, SKIP_MODEL, sigmoid, skipLogit } from "./skip-model.ts";
import type { SizeSpec } from "./types.ts";
import { GENRES } from "./vocabulary.ts";

/** Period start: 2023-01-01T00:00:00 UTC. */
export const PERIOD_START_MS = Date.UTC(2023, 0, 1);

export const SESSION_SHAPE = {
  /** Plays per session: 1 + Gamma(shape) * scale (mean about 20, long right tail). */
  playsShape: 1.5,
  playsScale: 13.0,
  maxPlays: 150,
  /** Chance of an ad after a listen for a non-premium user, and its length in seconds. */
  adRate: 0.38,
  adSecondsMin: 15,
  adSecondsMax: 30,
  likeWhenPlayedOut: 0.3,
  likeWhenSkipped: 0.08,
  /** Where the next track comes from: the user's own history, a favourite genre, an explored genre, else anywhere. */
  fromHistory: 0.08,
  fromFavourite: 0.47,
  fromExplore: 0.3,
  /** Shortest heard time of a skipped track. */
  minHeardMs: 2_000,
} as const;

/**
 * What simulateSessions needs for a drift: plays starting at or after `atMs` use `driftedLogit`. Each user
 * starts from the session stream's state of the run without drift (`userStates`, recorded by that run), and
 * from the drift on the user's draws come from `random`, so everything before the drift is exactly the
 * delivery without drift.
 */
export interface DriftModel {
  atMs: number;
  /** Added to the intercept after the drift (logit units). */
  offset: number;
  random: Random;
  userStates: readonly RandomState[];
}

/** Relative chance of a session starting in each UTC hour. */
const HOUR_WEIGHTS = [
  1.2, 0.7, 0.4, 0.3, 0.3, 0.5, 1.2, 2.6, 3.2, 2.6, 2.2, 2.2, 2.6, 2.6, 2.4, 2.6, 3.0, 3.6, 4.0, 4.2, 4.2,
  3.8, 3.0, 2.0,
];

export interface SessionBuffer {
  userIndex: number;
  sessionId: number;
  length: number;
  timestampMs: Float64Array;
  /** EventCode value. */
  kind: Uint8Array;
  /** Track index; -1 on ads and premium purchases. */
  track: Int32Array;
  /** On play rows: the true skip probability and the drawn outcome. */
  pSkip: Float64Array;
  skipped: Uint8Array;
}

function newBuffer(capacity: number): SessionBuffer {
  return {
    userIndex: 0,
    sessionId: 0,
    length: 0,
    timestampMs: new Float64Array(capacity),
    kind: new Uint8Array(capacity),
    track: new Int32Array(capacity),
    pSkip: new Float64Array(capacity),
    skipped: new Uint8Array(capacity),
  };
}

function push(
  buffer: SessionBuffer,
  timestampMs: number,
  kind: number,
  track: number,
  pSkip = 0,
  skipped = 0,
): void {
  const i = buffer.length++;
  buffer.timestampMs[i] = timestampMs;
  buffer.kind[i] = kind;
  buffer.track[i] = track;
  buffer.pSkip[i] = pSkip;
  buffer.skipped[i] = skipped;
}

/** Number of sessions per user: one each, the rest in proportion to the users' activity. */
export function sessionsPerUser(random: Random, catalog: SynthCatalog, total: number): Int32Array {
  const { users } = catalog;
  const counts = new Int32Array(users.count);
  const base = Math.min(users.count, total);
  for (let u = 0; u < base; u++) counts[u] = 1;
  let cumulative = 0;
  const cumulativeActivity = new Float64Array(users.count);
  for (let u = 0; u < users.count; u++) {
    cumulative += users.activity[u];
    cumulativeActivity[u] = cumulative;
  }
  for (let s = base; s < total; s++) {
    const target = random.next() * cumulative;
    let lo = 0;
    let hi = users.count - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulativeActivity[mid] > target) hi = mid;
      else lo = mid + 1;
    }
    counts[lo]++;
  }
  return counts;
}

function sessionStarts(random: Random, count: number, days: number): Float64Array {
  let hourTotal = 0;
  for (const w of HOUR_WEIGHTS) hourTotal += w;
  const starts = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let u = random.next() * hourTotal;
    let hour = 0;
    while (hour < 23 && u >= HOUR_WEIGHTS[hour]) u -= HOUR_WEIGHTS[hour++];
    const day = random.int(days);
    starts[i] = PERIOD_START_MS + ((day * 24 + hour) * 3600 + random.int(3600)) * 1000;
  }
  return starts.sort();
}

/**
 * Yields every session of every user, in user order and, per user, in time order. Session ids are
 * consecutive from `firstSessionId` in that order. The yielded buffer is reused: consume it before resuming.
 * With `drift`, a play starting at or after `drift.atMs` draws its skip from `driftedLogit` (track appeal and
 * time of day only); without it the output is that of the undrifted model, draw for draw. `recordUserStates`
 * receives the stream's state at each user's start (what a drifted run needs as `drift.userStates`).
 */
export function* simulateSessions(
  random: Random,
  catalog: SynthCatalog,
  size: SizeSpec,
  firstSessionId: number,
  drift?: DriftModel,
  recordUserStates?: RandomState[],
): Generator<SessionBuffer> {
  const { users, tracks, artists } = catalog;
  const genreCount = GENRES.length;
  const counts = sessionsPerUser(random, catalog, size.sessions);
  for (let u = 0; u < users.count; u++) {
    if (!users.premiumAtStart[u] && counts[u] > 0 && random.bernoulli(SKIP_MODEL.upgradeShare)) {
      users.upgradeSession[u] = random.int(counts[u]);
    }
  }
  let buffer = newBuffer(1024);
  let sessionId = firstSessionId;
  const history: number[] = [];
  const liked = new Set<number>();
  for (let u = 0; u < users.count; u++) {
    if (drift) random.restore(drift.userStates[u]);
    recordUserStates?.push(random.save());
    // The stream of this user's draws: the session stream until the drift, then the drift's own.
    let rng = random;
    history.length = 0;
    liked.clear();
    let premium = users.premiumAtStart[u] === 1;
    let upgradePending = false;
    const favourites = users.favourites[u];
    const explore = users.exploreGenres[u];
    const starts = sessionStarts(rng, counts[u], size.days);
    let previousEnd = 0;
    for (let s = 0; s < counts[u]; s++) {
      if (s === users.upgradeSession[u]) upgradePending = true;
      let t = starts[s];
      if (t < previousEnd + 60_000) t = previousEnd + (120 + rng.int(1800)) * 1000;
      const plays = Math.min(
        SESSION_SHAPE.maxPlays,
        1 + Math.floor(rng.gamma(SESSION_SHAPE.playsShape) * SESSION_SHAPE.playsScale),
      );
      if (buffer.timestampMs.length < plays * 5 + 8) buffer = newBuffer(plays * 5 + 8);
      buffer.userIndex = u;
      buffer.sessionId = sessionId++;
      buffer.length = 0;
      let previousTrack = -1;
      for (let position = 0; position < plays; position++) {
        if (drift !== undefined && rng === random && t >= drift.atMs) rng = drift.random;
        let track = chooseTrack(rng, catalog, favourites, explore, history);
        if (track === previousTrack) track = chooseTrack(rng, catalog, favourites, explore, history);
        previousTrack = track;
        const genres = artists.genres[tracks.artist[track]];
        let genreMatch = false;
        let taste = 0;
        for (let k = 0; k < genres.length; k++) {
          const flat = u * genreCount + genres[k];
          if (users.favouriteFlag[flat]) genreMatch = true;
          taste += users.hiddenTaste[flat];
        }
        const hour = ((t - PERIOD_START_MS) / 3_600_000) % 24;
        const p = sigmoid(
          drift !== undefined && t >= drift.atMs
            ? driftedLogit(tracks.appeal[track], hour, drift.offset)
            : skipLogit({
                propensity: users.propensity[u],
                appeal: tracks.appeal[track],
                genreMatch,
                hiddenTaste: taste,
                position,
                premium,
                hour,
                likedBefore: liked.has(track),
              }),
        );
        const skipped = rng.next() < p;
        push(buffer, t, EventCode.play, track, p, skipped ? 1 : 0);
        const duration = tracks.durationMs[track];
        const heard = skipped ? skipHeardMs(rng, duration) : duration;
        if (rng.bernoulli(skipped ? SESSION_SHAPE.likeWhenSkipped : SESSION_SHAPE.likeWhenPlayedOut)) {
          push(buffer, t + 1 + Math.floor(rng.uniform(0.05, 0.97) * (heard - 2)), EventCode.like, track);
          liked.add(track);
        }
        t += heard;
        if (skipped) push(buffer, t, EventCode.skip, track);
        if (history.length < 400) history.push(track);
        else history[rng.int(400)] = track;
        const last = position === plays - 1;
        if (!last && !premium && rng.bernoulli(SESSION_SHAPE.adRate)) {
          push(buffer, t, EventCode.advertisement, -1);
          t += rng.intBetween(SESSION_SHAPE.adSecondsMin, SESSION_SHAPE.adSecondsMax) * 1000;
          if (upgradePending) {
            push(buffer, t, EventCode.buy_premium, -1);
            t += rng.intBetween(10, 25) * 1000;
            premium = true;
            upgradePending = false;
            users.premiumAtEnd[u] = 1;
          }
        }
      }
      previousEnd = t;
      yield buffer;
    }
  }
}

function chooseTrack(
  random: Random,
  catalog: SynthCatalog,
  favourites: Uint8Array,
  explore: Uint8Array,
  history: number[],
): number {
  const r = random.next();
  if (r < SESSION_SHAPE.fromHistory && history.length > 0) return history[random.int(history.length)];
  let genre = -1;
  if (r < SESSION_SHAPE.fromHistory + SESSION_SHAPE.fromFavourite) {
    if (favourites.length > 0) genre = favourites[random.int(favourites.length)];
  } else if (r < SESSION_SHAPE.fromHistory + SESSION_SHAPE.fromFavourite + SESSION_SHAPE.fromExplore) {
    if (explore.length > 0) genre = explore[random.int(explore.length)];
  }
  if (genre >= 0) {
    const pool = catalog.genreTracks[genre];
    if (pool.tracks.length > 0) return pool.tracks[pool.sampler.sample(random)];
  }
  return catalog.trackSampler.sample(random);
}

/** Heard time of a skipped track: spread over the whole track, more often early than late. */
function skipHeardMs(random: Random, duration: number): number {
  const fraction = 0.02 + 0.95 * random.next() ** 1.3;
  return Math.max(SESSION_SHAPE.minHeardMs, Math.min(duration - 1000, Math.round(fraction * duration)));
}
