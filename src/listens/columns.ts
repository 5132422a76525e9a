import type { ListenAnomalies, ListenTable } from "./types.ts";

export function emptyAnomalies(): ListenAnomalies {
  return {
    skipWithoutPlay: 0,
    skipOfOtherTrack: 0,
    repeatedSkip: 0,
    skipAfterEnd: 0,
    likeWithoutPlay: 0,
    playWithoutTrack: 0,
    negativeDuration: 0,
  };
}

/** A listen table with room for `capacity` rows; `length` counts the rows written. */
export function allocateListens(capacity: number): ListenTable {
  return {
    length: 0,
    userId: new Int32Array(capacity),
    trackIndex: new Int32Array(capacity),
    sessionId: new Int32Array(capacity),
    startMs: new Float64Array(capacity),
    sessionStartMs: new Float64Array(capacity),
    skipped: new Uint8Array(capacity),
    heardMs: new Float64Array(capacity),
    position: new Int32Array(capacity),
    liked: new Uint8Array(capacity),
    premium: new Int8Array(capacity),
  };
}

/** The first `table.length` rows of `table`, reordered by `order` (indices into `table`). */
export function permuteListens(table: ListenTable, order: Int32Array): ListenTable {
  const out = allocateListens(order.length);
  out.length = order.length;
  for (let i = 0; i < order.length; i++) {
    const r = order[i];
    out.userId[i] = table.userId[r];
    out.trackIndex[i] = table.trackIndex[r];
    out.sessionId[i] = table.sessionId[r];
    out.startMs[i] = table.startMs[r];
    out.sessionStartMs[i] = table.sessionStartMs[r];
    out.skipped[i] = table.skipped[r];
    out.heardMs[i] = table.heardMs[r];
    out.position[i] = table.position[r];
    out.liked[i] = table.liked[r];
    out.premium[i] = table.premium[r];
  }
  return out;
}
