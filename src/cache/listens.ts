// Converts rows of a ListenTable into the simulator's listens (track size from the catalog's duration).
import type { Catalog } from "../data/types.ts";
import type { ListenTable } from "../listens/types.ts";
import type { CacheListen } from "./types.ts";

/** The listens of `rows` (default: every row) in the given order. */
export function cacheListensFromTable(
  table: ListenTable,
  catalog: Catalog,
  rows?: ArrayLike<number>,
): CacheListen[] {
  const count = rows ? rows.length : table.length;
  const out: CacheListen[] = new Array(count);
  for (let k = 0; k < count; k++) {
    const i = rows ? rows[k] : k;
    if (!(i >= 0 && i < table.length))
      throw new RangeError(`listen row ${i} is outside the table (0..${table.length - 1})`);
    const track = catalog.tracks[table.trackIndex[i]];
    if (!track)
      throw new RangeError(`listen row ${i}: track index ${table.trackIndex[i]} is not in the catalog`);
    out[k] = {
      userId: table.userId[i],
      sessionId: table.sessionId[i],
      trackId: track.id,
      durationMs: track.durationMs,
      heardMs: table.heardMs[i],
      skipped: table.skipped[i] === 1,
      startMs: table.startMs[i],
    };
  }
  return out;
}
