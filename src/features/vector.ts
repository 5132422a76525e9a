// A feature vector from a query's reads: the one place the columns are assembled, whichever store (this
// process's typed arrays, or Redis) the reads came from.
import type { CatalogIndex } from "./catalog-index.ts";
import { writeContent } from "./content.ts";
import {
  type VectorReads,
  writeHistoryColumns,
  writeSessionColumns,
  writeTasteColumns,
  writeUserColumns,
} from "./reads.ts";
import { TASTE_DIMENSIONS } from "./schema.ts";
import { writeTime } from "./time.ts";
import type { FeatureOptions, FeatureQuery, SessionOverride } from "./types.ts";

/** Bits returned by `writeVector`. */
export const COLD_USER = 1;
export const COLD_TRACK = 2;

/** Where the next listen of a session sits, as the event stream says (null: a session never seen). */
export interface StreamPlace {
  position: number;
  sessionStartMs: number;
}

/**
 * The session context a vector is written with: what the query states, completed by the stream's place of
 * the session (`scratch` is reused and returned when the place is known).
 */
export function placedContext(
  stated: SessionOverride | undefined,
  place: StreamPlace | null,
  scratch: SessionOverride,
): SessionOverride | undefined {
  if (place === null) return stated;
  scratch.position = stated?.position ?? place.position;
  scratch.sessionStartMs = stated?.sessionStartMs ?? place.sessionStartMs;
  scratch.previousSkipped = stated?.previousSkipped;
  return scratch;
}

/**
 * Writes one vector at `offset`: `track` = catalogue index (-1 unknown), `catalogUser` = index among the
 * catalogue's users (-1: users.jsonl does not hold the user), `premium` = status now (1 / 0 / NaN).
 * Returns the cold-start bits (COLD_USER | COLD_TRACK).
 */
export function writeVectorFromReads(
  index: CatalogIndex,
  options: FeatureOptions,
  query: FeatureQuery,
  context: SessionOverride | undefined,
  reads: VectorReads,
  track: number,
  catalogUser: number,
  premium: number,
  values: Float32Array,
  offset: number,
): number {
  writeUserColumns(reads, query.timestampMs, values, offset);
  const userRate = writeHistoryColumns(reads, options, track, premium, values, offset);
  const tasteFrom = track < 0 ? -1 : track * TASTE_DIMENSIONS;
  writeTasteColumns(reads, index.trackTaste, tasteFrom, options.priorStrength, values, offset);
  writeContent(index, catalogUser, premium, track, values, offset);
  writeTime(query.timestampMs, values, offset);
  writeSessionColumns(reads, context, query.timestampMs, userRate, options.pairPriorStrength, values, offset);
  return (
    (reads.userKnown && reads.userListens > 0 ? 0 : COLD_USER) |
    (track >= 0 && reads.trackListens > 0 ? 0 : COLD_TRACK)
  );
}
