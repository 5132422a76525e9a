// Outcome history: skip / heard / like rates of the user, the track, its artist, and the user's pairs
// with that artist, its genres and the track itself — each smoothed toward the level above it.
import type { CatalogIndex } from "./catalog-index.ts";
import { PairIndex } from "./pair-index.ts";
import { COL } from "./schema.ts";
import { smoothedRate } from "./smoothing.ts";
import { Tally, type TallyKind } from "./tally.ts";
import type { FeatureOptions } from "./types.ts";

/** Pair tables hold millions of slots: only the columns their features read. */
export const COUNTS_ONLY: TallyKind = { likes: false, heard: false };
export const COUNTS_AND_LIKES: TallyKind = { likes: true, heard: false };

/** 30 days: longer gaps read as this one. */
export const MAX_GAP_HOURS = 720;
const MS_PER_HOUR = 3_600_000;

export class HistoryFamily {
  global = new Tally(1);
  users: Tally;
  /** Per user and premium status: slot = user × 2 + status (1 premium). */
  userStatus: Tally;
  /** Start of each user's latest observed listen (NaN before any). */
  userLastMs: Float64Array;
  tracks: Tally;
  artists: Tally;
  userArtist: PairIndex;
  userArtistTally: Tally;
  userGenre: PairIndex;
  userGenreTally: Tally;
  userTrack: PairIndex;
  userTrackTally: Tally;

  constructor(
    private readonly index: CatalogIndex,
    private readonly options: FeatureOptions,
    userCapacity: number,
  ) {
    this.global.ensureSize(1);
    this.users = new Tally(userCapacity);
    this.userStatus = new Tally(userCapacity * 2, COUNTS_ONLY);
    this.userLastMs = new Float64Array(Math.max(1, userCapacity)).fill(Number.NaN);
    this.tracks = new Tally(index.trackCount);
    this.tracks.ensureSize(index.trackCount);
    this.artists = new Tally(index.artistCount);
    this.artists.ensureSize(index.artistCount);
    this.userArtist = new PairIndex();
    this.userArtistTally = new Tally(16, COUNTS_ONLY);
    this.userGenre = new PairIndex();
    this.userGenreTally = new Tally(16, COUNTS_ONLY);
    this.userTrack = new PairIndex();
    this.userTrackTally = new Tally(16, COUNTS_AND_LIKES);
  }

  /** Room for `listens` more listens in the biggest pair table (user × track: at most one pair each). */
  reserve(listens: number): void {
    const capacity = this.userTrack.size + listens;
    this.userTrack.reserve(capacity);
    this.userTrackTally.reserve(capacity);
  }

  /** Makes user slots [0, size) addressable. */
  ensureUsers(size: number): void {
    const before = this.userLastMs.length;
    this.users.ensureSize(size);
    this.userStatus.ensureSize(size * 2);
    if (size > before) {
      const last = new Float64Array(Math.max(size, before * 2)).fill(Number.NaN);
      last.set(this.userLastMs);
      this.userLastMs = last;
    }
  }

  observe(
    user: number,
    track: number,
    startMs: number,
    skipped: number,
    liked: number,
    fraction: number,
    premium: number,
  ): void {
    this.global.add(0, skipped, liked, fraction);
    this.users.add(user, skipped, liked, fraction);
    if (premium === 0 || premium === 1) this.userStatus.add(user * 2 + premium, skipped, liked, fraction);
    if (!(this.userLastMs[user] >= startMs)) this.userLastMs[user] = startMs;
    if (track < 0) return;
    this.tracks.add(track, skipped, liked, fraction);
    const artist = this.index.trackArtist[track];
    this.artists.add(artist, skipped, liked, fraction);
    addPair(this.userArtist, this.userArtistTally, user, artist, skipped, liked, fraction);
    addPair(this.userTrack, this.userTrackTally, user, track, skipped, liked, fraction);
    const genres = this.index.artistGenres;
    for (let g = this.index.artistGenreStart[artist]; g < this.index.artistGenreStart[artist + 1]; g++) {
      addPair(this.userGenre, this.userGenreTally, user, genres[g], skipped, liked, fraction);
    }
  }

  /** Number of listens of a user slot (-1 = unknown user) / of a track (-1 = unknown track). */
  userListens(user: number): number {
    return user < 0 || user >= this.users.size ? 0 : this.users.listens[user];
  }

  trackListens(track: number): number {
    return track < 0 ? 0 : this.tracks.listens[track];
  }

  /**
   * Writes the history columns; returns the user's smoothed skip rate (the prior of its pairs).
   * `premium` = the user's status now (1 / 0 / NaN unknown).
   */
  write(
    user: number,
    track: number,
    timestampMs: number,
    premium: number,
    out: Float32Array,
    base: number,
  ): number {
    const o = this.options;
    const g = this.global;
    const globalRate = smoothedRate(g.skips[0], g.listens[0], o.globalPrior, o.globalPriorStrength);
    const globalHeard = smoothedRate(
      g.heardSum[0],
      g.heardCount[0],
      1 - o.globalPrior,
      o.globalPriorStrength,
    );
    const globalLike = smoothedRate(g.likes[0], g.listens[0], 0, o.globalPriorStrength);
    out[base + COL.globalSkipRate] = globalRate;

    const u = this.users;
    const known = user >= 0 && user < u.size;
    const uListens = known ? u.listens[user] : 0;
    const userRate = smoothedRate(known ? u.skips[user] : 0, uListens, globalRate, o.priorStrength);
    out[base + COL.userSkipRate] = userRate;
    const status = known && (premium === 0 || premium === 1) ? user * 2 + premium : -1;
    out[base + COL.userStatusSkipRate] =
      status < 0
        ? userRate
        : smoothedRate(
            this.userStatus.skips[status],
            this.userStatus.listens[status],
            userRate,
            o.pairPriorStrength,
          );
    out[base + COL.userListens] = uListens;
    out[base + COL.userHeardFraction] = known
      ? smoothedRate(u.heardSum[user], u.heardCount[user], globalHeard, o.priorStrength)
      : globalHeard;
    out[base + COL.userLikeRate] = smoothedRate(
      known ? u.likes[user] : 0,
      uListens,
      globalLike,
      o.priorStrength,
    );
    // Capped so that a bundle served long after its data (or a clock far ahead) reads "long ago",
    // a value training has seen, instead of a gap no model was fitted on.
    out[base + COL.hoursSinceUserLastListen] = known
      ? Math.min(Math.max((timestampMs - this.userLastMs[user]) / MS_PER_HOUR, 0), MAX_GAP_HOURS)
      : Number.NaN;

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
    const t = this.tracks;
    out[base + COL.trackSkipRate] = smoothedRate(
      t.skips[track],
      t.listens[track],
      globalRate,
      o.priorStrength,
    );
    out[base + COL.trackListens] = t.listens[track];
    out[base + COL.trackHeardFraction] = smoothedRate(
      t.heardSum[track],
      t.heardCount[track],
      globalHeard,
      o.priorStrength,
    );
    const artist = this.index.trackArtist[track];
    const a = this.artists;
    out[base + COL.artistSkipRate] = smoothedRate(
      a.skips[artist],
      a.listens[artist],
      globalRate,
      o.priorStrength,
    );
    out[base + COL.artistListens] = a.listens[artist];

    const ua = known ? this.userArtist.find(user, artist) : -1;
    const uaListens = ua < 0 ? 0 : this.userArtistTally.listens[ua];
    out[base + COL.userArtistSkipRate] = smoothedRate(
      ua < 0 ? 0 : this.userArtistTally.skips[ua],
      uaListens,
      userRate,
      ps,
    );
    out[base + COL.userArtistListens] = uaListens;

    let genreListens = 0;
    let genreSkips = 0;
    // Sum over the track's genres of how far the user's smoothed log-odds for that genre sit from
    // their overall log-odds: genre effects that add up (a track has several genres) stay additive.
    let taste = 0;
    if (known) {
      const genres = this.index.artistGenres;
      const userLogit = logit(userRate);
      for (let i = this.index.artistGenreStart[artist]; i < this.index.artistGenreStart[artist + 1]; i++) {
        const slot = this.userGenre.find(user, genres[i]);
        if (slot < 0) continue;
        const listens = this.userGenreTally.listens[slot];
        const skips = this.userGenreTally.skips[slot];
        genreListens += listens;
        genreSkips += skips;
        taste += logit(smoothedRate(skips, listens, userRate, ps)) - userLogit;
      }
    }
    out[base + COL.userGenreSkipRate] = smoothedRate(genreSkips, genreListens, userRate, ps);
    out[base + COL.userGenreListens] = genreListens;
    out[base + COL.userGenreLogitSum] = taste;

    const ut = known ? this.userTrack.find(user, track) : -1;
    const utListens = ut < 0 ? 0 : this.userTrackTally.listens[ut];
    out[base + COL.userTrackSkipRate] = smoothedRate(
      ut < 0 ? 0 : this.userTrackTally.skips[ut],
      utListens,
      userRate,
      ps,
    );
    out[base + COL.userTrackListens] = utListens;
    out[base + COL.likedBefore] = ut >= 0 && this.userTrackTally.likes[ut] > 0 ? 1 : 0;
    return userRate;
  }
}

function logit(p: number): number {
  return Math.log(p / (1 - p));
}

function addPair(
  index: PairIndex,
  tally: Tally,
  a: number,
  b: number,
  skipped: number,
  liked: number,
  fraction: number,
): void {
  const slot = index.intern(a, b);
  if (slot >= tally.size) tally.ensureSize(slot + 1);
  tally.add(slot, skipped, liked, fraction);
}
