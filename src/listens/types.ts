/**
 * One row per listen (a `play` event), columnar and sorted by start time
 * (ties broken by session id, then position). `skipped` is the label: 1 = skipped, 0 = played to the end.
 */
export interface ListenTable {
  length: number;
  userId: Int32Array;
  /** Index into `Catalog.tracks`. */
  trackIndex: Int32Array;
  sessionId: Int32Array;
  startMs: Float64Array;
  /** Start time of the listen's session (its first event). */
  sessionStartMs: Float64Array;
  skipped: Uint8Array;
  /** Skip time − play time when skipped, the track duration when played out. */
  heardMs: Float64Array;
  /** 0-based position of the listen among the listens of its session. */
  position: Int32Array;
  /** 1 when the user liked the track during this listen. */
  liked: Uint8Array;
  /**
   * The user's premium status when the listen starts: 1 premium, 0 not, -1 unknown. users.jsonl gives the
   * status at the end of the period, so a `buy_premium` event splits a user's listens into 0 before, 1 after.
   */
  premium: Int8Array;
}

/** How session events become listens: see `src/listens/sequence.ts` and `src/listens/reference.ts`. */
export type ListenRule = "sequence" | "reference";

/**
 * Events the listen rule could not place. None of them stops the build; each is counted so the
 * quality of a delivery's event stream is visible.
 */
export interface ListenAnomalies {
  /** A `skip` with no `play` before it in its session (or whose track is missing). */
  skipWithoutPlay: number;
  /** A `skip` naming another track than the one playing (sequence rule only). */
  skipOfOtherTrack: number;
  /** A second `skip` of a listen already skipped. */
  repeatedSkip: number;
  /** A `skip` later than the track's duration after its play (heard time is capped at the duration). */
  skipAfterEnd: number;
  /** A `like` while no listen of that track is playing in the session. */
  likeWithoutPlay: number;
  /** A `play` without a catalogue track: no listen is made. */
  playWithoutTrack: number;
  /** A listen whose track has a duration <= 0 or heard time < 0: heardMs is NaN. */
  negativeDuration: number;
}

export interface ListenBuild {
  listens: ListenTable;
  anomalies: ListenAnomalies;
}
