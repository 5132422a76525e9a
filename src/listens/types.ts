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
}
