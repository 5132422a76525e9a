// Outcome history: skip / heard / like rates of the user, the track, its artist, and the user's pairs
// with that artist, its genres and the track itself — each smoothed toward the level above it.
import type { CatalogIndex } from "./catalog-index.ts";
import { PairIndex } from "./pair-index.ts";
import { VectorReads, writeHistoryColumns } from "./reads.ts";
import { type Columns, column } from "./snapshot.ts";
import { FULL_TALLY, Tally, type TallyKind } from "./tally.ts";
import type { FeatureFamily, FeatureOptions } from "./types.ts";

/** Pair tables hold millions of slots: only the columns their features read. */
export const COUNTS_ONLY: TallyKind = { likes: false, heard: false };
export const COUNTS_AND_LIKES: TallyKind = { likes: true, heard: false };

export class HistoryFamily
  implements
    FeatureFamily<
      [user: number, track: number, skipped: number, liked: number, fraction: number, premium: number],
      [user: number, track: number, premium: number],
      number
    >
{
  private global = new Tally(1);
  private users: Tally;
  /** Per user and premium status: slot = user × 2 + status (1 premium). */
  private userStatus: Tally;
  private tracks: Tally;
  private artists: Tally;
  private userArtist = new PairIndex();
  private userArtistTally = new Tally(16, COUNTS_ONLY);
  private userGenre = new PairIndex();
  private userGenreTally = new Tally(16, COUNTS_ONLY);
  private userTrack = new PairIndex();
  private userTrackTally = new Tally(16, COUNTS_AND_LIKES);
  private readonly reads = new VectorReads();

  /** `users` = user slots addressable from the start. */
  constructor(
    private readonly index: CatalogIndex,
    private readonly options: FeatureOptions,
    users = 0,
  ) {
    this.global.ensureSize(1);
    const userCapacity = Math.max(16, users * 2);
    this.users = new Tally(userCapacity);
    this.userStatus = new Tally(userCapacity * 2, COUNTS_ONLY);
    this.ensureUsers(users);
    this.tracks = new Tally(index.trackCount);
    this.tracks.ensureSize(index.trackCount);
    this.artists = new Tally(index.artistCount);
    this.artists.ensureSize(index.artistCount);
  }

  /** Room for `listens` more listens in the biggest pair table (user × track: at most one pair each). */
  reserve(listens: number): void {
    const capacity = this.userTrack.size + listens;
    this.userTrack.reserve(capacity);
    this.userTrackTally.reserve(capacity);
  }

  /** User slots addressable. */
  get userCount(): number {
    return this.users.size;
  }

  /** Makes user slots [0, size) addressable. */
  ensureUsers(size: number): void {
    this.users.ensureSize(size);
    this.userStatus.ensureSize(size * 2);
  }

  /** `premium` = the user's status at the listen (1 / 0 / -1 unknown); `fraction` NaN = heard time unknown. */
  observe(
    user: number,
    track: number,
    skipped: number,
    liked: number,
    fraction: number,
    premium: number,
  ): void {
    this.global.add(0, skipped, liked, fraction);
    this.users.add(user, skipped, liked, fraction);
    if (premium === 0 || premium === 1) this.userStatus.add(user * 2 + premium, skipped, liked, fraction);
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

  /** Fills the history part of `r` for a user slot (-1 unknown), a track (-1 unknown) and a premium status. */
  read(user: number, track: number, premium: number, r: VectorReads): void {
    const g = this.global;
    r.globalListens = g.listens[0];
    r.globalSkips = g.skips[0];
    r.globalLikes = g.likes[0];
    r.globalHeardCount = g.heardCount[0];
    r.globalHeardSum = g.heardSum[0];
    const u = this.users;
    const known = user >= 0 && user < u.size;
    r.userKnown = known;
    r.userListens = known ? u.listens[user] : 0;
    r.userSkips = known ? u.skips[user] : 0;
    r.userLikes = known ? u.likes[user] : 0;
    r.userHeardCount = known ? u.heardCount[user] : 0;
    r.userHeardSum = known ? u.heardSum[user] : 0;
    const status = known && (premium === 0 || premium === 1) ? user * 2 + premium : -1;
    r.statusListens = status < 0 ? 0 : this.userStatus.listens[status];
    r.statusSkips = status < 0 ? 0 : this.userStatus.skips[status];
    r.setGenreCount(0);
    r.userArtistFound = false;
    r.userTrackFound = false;
    if (track < 0) {
      r.trackListens = r.trackSkips = r.trackHeardCount = r.trackHeardSum = 0;
      r.artistListens = r.artistSkips = 0;
      return;
    }
    const t = this.tracks;
    r.trackListens = t.listens[track];
    r.trackSkips = t.skips[track];
    r.trackHeardCount = t.heardCount[track];
    r.trackHeardSum = t.heardSum[track];
    const artist = this.index.trackArtist[track];
    r.artistListens = this.artists.listens[artist];
    r.artistSkips = this.artists.skips[artist];
    if (!known) return;
    const ua = this.userArtist.find(user, artist);
    r.userArtistFound = ua >= 0;
    r.userArtistListens = ua < 0 ? 0 : this.userArtistTally.listens[ua];
    r.userArtistSkips = ua < 0 ? 0 : this.userArtistTally.skips[ua];
    const genres = this.index.artistGenres;
    const from = this.index.artistGenreStart[artist];
    r.setGenreCount(this.index.artistGenreStart[artist + 1] - from);
    for (let i = 0; i < r.genreCount; i++) {
      const slot = this.userGenre.find(user, genres[from + i]);
      r.genreFound[i] = slot < 0 ? 0 : 1;
      r.genreListens[i] = slot < 0 ? 0 : this.userGenreTally.listens[slot];
      r.genreSkips[i] = slot < 0 ? 0 : this.userGenreTally.skips[slot];
    }
    const ut = this.userTrack.find(user, track);
    r.userTrackFound = ut >= 0;
    r.userTrackListens = ut < 0 ? 0 : this.userTrackTally.listens[ut];
    r.userTrackSkips = ut < 0 ? 0 : this.userTrackTally.skips[ut];
    r.userTrackLikes = ut < 0 ? 0 : this.userTrackTally.likes[ut];
  }

  /**
   * Writes the history columns; returns the user's smoothed skip rate (the prior of its pairs).
   * `premium` = the user's status now (1 / 0 / NaN unknown).
   */
  write(user: number, track: number, premium: number, out: Float32Array, base: number): number {
    this.read(user, track, premium, this.reads);
    return writeHistoryColumns(this.reads, this.options, track, premium, out, base);
  }

  /** Tallies under "global.", "users.", ... and pair tables under "userArtist." ... (`first`, `second`, counts). */
  columns(): Columns {
    return {
      ...prefixed("global.", this.global.columns()),
      ...prefixed("users.", this.users.columns()),
      ...prefixed("userStatus.", this.userStatus.columns()),
      ...prefixed("tracks.", this.tracks.columns()),
      ...prefixed("artists.", this.artists.columns()),
      ...pairColumns("userArtist.", this.userArtist, this.userArtistTally),
      ...pairColumns("userGenre.", this.userGenre, this.userGenreTally),
      ...pairColumns("userTrack.", this.userTrack, this.userTrackTally),
    };
  }

  static fromColumns(columns: Columns, index: CatalogIndex, options: FeatureOptions): HistoryFamily {
    const family = new HistoryFamily(index, options);
    const tally = (prefix: string, kind: TallyKind, size: number) => {
      const t = Tally.fromColumns(tallyColumns(columns, prefix, kind), kind, 16);
      if (size >= 0 && t.size !== size)
        throw new Error(`"${prefix}" holds ${t.size} slots, expected ${size}`);
      return t;
    };
    family.global = tally("global.", FULL_TALLY, 1);
    family.users = tally("users.", FULL_TALLY, -1);
    family.userStatus = tally("userStatus.", COUNTS_ONLY, family.users.size * 2);
    family.tracks = tally("tracks.", FULL_TALLY, index.trackCount);
    family.artists = tally("artists.", FULL_TALLY, index.artistCount);
    [family.userArtist, family.userArtistTally] = pairTable(columns, "userArtist.", COUNTS_ONLY);
    [family.userGenre, family.userGenreTally] = pairTable(columns, "userGenre.", COUNTS_ONLY);
    [family.userTrack, family.userTrackTally] = pairTable(columns, "userTrack.", COUNTS_AND_LIKES);
    return family;
  }
}

function prefixed(prefix: string, columns: Columns): Columns {
  const out: Record<string, Columns[string]> = {};
  for (const [name, array] of Object.entries(columns)) out[prefix + name] = array;
  return out;
}

function pairColumns(prefix: string, index: PairIndex, tally: Tally): Columns {
  return {
    [`${prefix}first`]: index.first.subarray(0, index.size),
    [`${prefix}second`]: index.second.subarray(0, index.size),
    ...prefixed(prefix, tally.columns()),
  };
}

function tallyColumns(columns: Columns, prefix: string, kind: TallyKind) {
  return {
    listens: column(columns, `${prefix}listens`, Uint32Array),
    skips: column(columns, `${prefix}skips`, Uint32Array),
    likes: kind.likes ? column(columns, `${prefix}likes`, Uint32Array) : undefined,
    heardCount: kind.heard ? column(columns, `${prefix}heardCount`, Uint32Array) : undefined,
    heardSum: kind.heard ? column(columns, `${prefix}heardSum`, Float64Array) : undefined,
  };
}

function pairTable(columns: Columns, prefix: string, kind: TallyKind): [PairIndex, Tally] {
  const first = column(columns, `${prefix}first`, Int32Array);
  const second = column(columns, `${prefix}second`, Int32Array);
  const tally = Tally.fromColumns(tallyColumns(columns, prefix, kind), kind);
  if (first.length !== tally.size || second.length !== tally.size)
    throw new Error(`"${prefix}" pairs and counts differ in length`);
  return [PairIndex.fromPairs(first, second), tally];
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
