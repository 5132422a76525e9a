// The default listen rule: events are read in session order and each `play` opens a listen that the
// following `skip` of the same track may close early.
import { type Catalog, EventCode, type EventTable } from "../data/types.ts";
import { allocateListens, emptyAnomalies } from "./columns.ts";
import type { ListenBuild } from "./types.ts";

/**
 * Listens in (session ascending, position) order — not yet sorted by time.
 * - every `play` with a catalogue track starts a listen (position = its index among the session's listens);
 * - a `skip` of the playing track marks it skipped, heard = skip time − play time (capped at the duration);
 * - a listen never skipped was played out: heard = track duration;
 * - a `like` of the playing track (before or after its skip) sets liked.
 */
export function sequenceListens(
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
  let n = 0;
  for (let s = 0; s + 1 < spans.length; s++) {
    const from = spans[s];
    const to = spans[s + 1];
    const sessionStart = timestampMs[order[from]];
    let position = 0;
    let current = -1; // row in `out` of the listen playing now
    for (let k = from; k < to; k++) {
      const e = order[k];
      const code = kind[e];
      const track = trackIndex[e];
      if (code === EventCode.play) {
        if (track < 0) {
          anomalies.playWithoutTrack++;
          current = -1;
          continue;
        }
        const duration = durations[track];
        out.userId[n] = userId[e];
        out.trackIndex[n] = track;
        out.sessionId[n] = sessionId[e];
        out.startMs[n] = timestampMs[e];
        out.sessionStartMs[n] = sessionStart;
        out.position[n] = position++;
        out.skipped[n] = 0;
        out.liked[n] = 0;
        if (duration > 0) out.heardMs[n] = duration;
        else {
          out.heardMs[n] = Number.NaN;
          anomalies.negativeDuration++;
        }
        current = n++;
      } else if (code === EventCode.skip) {
        if (current < 0 || track < 0) anomalies.skipWithoutPlay++;
        else if (out.trackIndex[current] !== track) anomalies.skipOfOtherTrack++;
        else if (out.skipped[current] === 1) anomalies.repeatedSkip++;
        else {
          out.skipped[current] = 1;
          const heard = timestampMs[e] - out.startMs[current];
          const duration = durations[track];
          if (!(duration > 0)) continue; // already counted, heardMs stays NaN
          if (heard > duration) {
            anomalies.skipAfterEnd++;
            out.heardMs[current] = duration;
          } else out.heardMs[current] = heard;
        }
      } else if (code === EventCode.like) {
        if (current >= 0 && track === out.trackIndex[current]) out.liked[current] = 1;
        else anomalies.likeWithoutPlay++;
      }
    }
  }
  out.length = n;
  return { listens: out, anomalies };
}

export function trackDurations(catalog: Catalog): Float64Array {
  const durations = new Float64Array(catalog.tracks.length);
  for (let t = 0; t < durations.length; t++) durations[t] = catalog.tracks[t].durationMs;
  return durations;
}
