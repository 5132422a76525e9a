// The reference project's rule, kept for comparison: one row per (session, track), skipped if any
// `skip` of that track exists in that session, however many times it was played.
import { type Catalog, EventCode, type EventTable } from "../data/types.ts";
import { allocateListens, emptyAnomalies } from "./columns.ts";
import { trackDurations } from "./sequence.ts";
import type { ListenBuild } from "./types.ts";

/**
 * Rows in (session ascending, first play) order. A row starts at the pair's first `play`; heard time
 * is measured from there to the pair's first later `skip`, or the duration when never skipped.
 */
export function referenceListens(
  events: EventTable,
  catalog: Catalog,
  order: Int32Array,
  spans: Int32Array,
): ListenBuild {
  const anomalies = emptyAnomalies();
  let plays = 0;
  for (let i = 0; i < events.length; i++) if (events.kind[i] === EventCode.play) plays++;
  const out = allocateListens(plays);
  const durations = trackDurations(catalog);
  const { kind, trackIndex, timestampMs, userId, sessionId } = events;
  const rowOfTrack = new Map<number, number>(); // track → row of this session's pair
  let n = 0;
  for (let s = 0; s + 1 < spans.length; s++) {
    const from = spans[s];
    const to = spans[s + 1];
    const sessionStart = timestampMs[order[from]];
    rowOfTrack.clear();
    for (let k = from; k < to; k++) {
      const e = order[k];
      const code = kind[e];
      const track = trackIndex[e];
      if (code === EventCode.play) {
        if (track < 0) anomalies.playWithoutTrack++;
        else if (!rowOfTrack.has(track)) {
          rowOfTrack.set(track, n);
          const duration = durations[track];
          out.userId[n] = userId[e];
          out.trackIndex[n] = track;
          out.sessionId[n] = sessionId[e];
          out.startMs[n] = timestampMs[e];
          out.sessionStartMs[n] = sessionStart;
          out.position[n] = rowOfTrack.size - 1;
          out.skipped[n] = 0;
          out.liked[n] = 0;
          if (duration > 0) out.heardMs[n] = duration;
          else {
            out.heardMs[n] = Number.NaN;
            anomalies.negativeDuration++;
          }
          n++;
        }
      } else if (code === EventCode.skip || code === EventCode.like) {
        const row = track < 0 ? undefined : rowOfTrack.get(track);
        if (row === undefined) {
          if (code === EventCode.skip) anomalies.skipWithoutPlay++;
          else anomalies.likeWithoutPlay++;
        } else if (code === EventCode.like) out.liked[row] = 1;
        else if (out.skipped[row] === 1) anomalies.repeatedSkip++;
        else {
          out.skipped[row] = 1;
          const duration = durations[track];
          if (!(duration > 0)) continue;
          const heard = timestampMs[e] - out.startMs[row];
          if (heard > duration) {
            anomalies.skipAfterEnd++;
            out.heardMs[row] = duration;
          } else out.heardMs[row] = heard;
        }
      }
    }
  }
  out.length = n;
  return { listens: out, anomalies };
}
