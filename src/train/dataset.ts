// Point-in-time feature rows: the delivery's session events replayed in stream order through a
// FeatureState, each listen's vector written at its play, before anything at or after it is applied.
import { type Catalog, EventCode, type EventTable } from "../data/types.ts";
import {
  COLD_TRACK,
  COLD_USER,
  FEATURE_COUNT,
  FEATURE_SCHEMA,
  type FeatureOptions,
  FeatureState,
} from "../features/index.ts";
import { eventsOfListens } from "../listens/live.ts";
import { eventTimeOrder } from "../listens/order.ts";
import type { ListenTable } from "../listens/types.ts";
import type { Matrix } from "../models/types.ts";

export interface DatasetOptions {
  /** Continue from this state (for example one restored from a bundle); a fresh one by default. */
  state?: FeatureState;
  featureOptions?: Partial<FeatureOptions>;
  /**
   * The session events the listens were built from (the delivery's `events`). The state learns from
   * them exactly as the service does from `POST /v1/events`. Default: the events the listens stand for
   * (`eventsOfListens`), for callers that hold only listens.
   */
  events?: EventTable;
  /** Also return the state's snapshot taken just before the first event at or after this time. */
  snapshotAtMs?: number;
  /**
   * Write rows from this listen on (default 0): the earlier plays are replayed into the state like every
   * event but get no row, so a training window costs no memory for the listens before it.
   */
  fromRow?: number;
  /** Called every `progressEvery` rows and at the end. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

export interface Dataset {
  /** Row r is listen `firstListen + r` of the table the dataset was built from. */
  firstListen: number;
  /** Session events replayed into the state. */
  eventCount: number;
  X: Matrix;
  featureNames: readonly string[];
  schemaVersion: string;
  /** 1 = skipped. */
  y: Uint8Array;
  startMs: Float64Array;
  userId: Int32Array;
  trackIndex: Int32Array;
  sessionId: Int32Array;
  position: Int32Array;
  heardMs: Float64Array;
  /** Duration of the listen's track (ms), for cache-waste metrics. */
  durationMs: Float64Array;
  /** 1 when the user / track had no observed listen before this row. */
  coldUser: Uint8Array;
  coldTrack: Uint8Array;
  /** The state after every event: what a server starts from. */
  state: FeatureState;
  /** The state's snapshot at `snapshotAtMs` (when asked). */
  snapshotAt?: Buffer;
}

/**
 * Replays the events in stream order (`eventTimeOrder`) through a FeatureState. Each listen's row is its
 * vector at its `play` event, written before that event is applied, so a row sees only what the stream had
 * decided by then: exactly what the service answers for the same request after the same events.
 */
export function buildDataset(listens: ListenTable, catalog: Catalog, options: DatasetOptions = {}): Dataset {
  const n = listens.length;
  const cols = FEATURE_COUNT;
  assertTimeOrder(listens);
  const first = options.fromRow ?? 0;
  if (!(Number.isInteger(first) && first >= 0 && first <= n))
    throw new RangeError(`buildDataset: fromRow must be an integer in [0, ${n}], got ${first}`);
  const kept = n - first;
  const events = options.events ?? eventsOfListens(listens);
  const state = options.state ?? new FeatureState(catalog, options.featureOptions);
  state.reserve(n);
  const data = new Float32Array(kept * cols);
  const durationMs = new Float64Array(kept);
  const coldUser = new Uint8Array(kept);
  const coldTrack = new Uint8Array(kept);
  const scratch = new Float32Array(cols);
  const every = Math.max(1, options.progressEvery ?? 100_000);
  const query = { userId: 0, trackIndex: 0, timestampMs: 0, sessionId: 0 };
  const event = { kind: 0, timestampMs: 0, userId: 0, sessionId: 0, trackIndex: -1 };
  const order = eventTimeOrder(events.sessionId, events.timestampMs, events.length);
  const snapshotAtMs = options.snapshotAtMs;
  let snapshotAt: Buffer | undefined;
  let nextReport = every;
  let row = 0;
  for (let k = 0; k < order.length; k++) {
    const e = order[k];
    const t = events.timestampMs[e];
    if (snapshotAtMs !== undefined && snapshotAt === undefined && t >= snapshotAtMs)
      snapshotAt = state.snapshot();
    const kind = events.kind[e];
    const track = events.trackIndex[e];
    if (kind === EventCode.play && track >= 0) {
      if (
        row >= n ||
        listens.userId[row] !== events.userId[e] ||
        listens.trackIndex[row] !== track ||
        listens.startMs[row] !== t
      ) {
        throw new Error(
          `buildDataset: the play at line ${events.line[e]} (user ${events.userId[e]}, ${new Date(t).toISOString()}) is not listen row ${row}: the listens were not built from these events by the sequence rule`,
        );
      }
      query.userId = events.userId[e];
      query.trackIndex = track;
      query.timestampMs = t;
      query.sessionId = events.sessionId[e];
      if (row >= first) {
        const r = row - first;
        const cold = state.writeVector(query, data, r * cols);
        coldUser[r] = cold & COLD_USER ? 1 : 0;
        coldTrack[r] = cold & COLD_TRACK ? 1 : 0;
        durationMs[r] = track < catalog.tracks.length ? catalog.tracks[track].durationMs : Number.NaN;
      } else {
        // The vector is not kept, but writing it keeps the state's reads identical to a full build.
        state.writeVector(query, scratch, 0);
      }
      row++;
      if (options.onProgress && row >= nextReport && row < n) {
        options.onProgress(row, n);
        nextReport = row + every;
      }
    }
    event.kind = kind;
    event.timestampMs = t;
    event.userId = events.userId[e];
    event.sessionId = events.sessionId[e];
    event.trackIndex = track;
    state.applyEvent(event);
  }
  if (row !== n) {
    throw new Error(
      `buildDataset: the events hold ${row} plays of catalogue tracks but there are ${n} listens`,
    );
  }
  if (snapshotAtMs !== undefined && snapshotAt === undefined) snapshotAt = state.snapshot();
  options.onProgress?.(n, n);

  return {
    firstListen: first,
    eventCount: events.length,
    X: { rows: kept, cols, data },
    featureNames: FEATURE_SCHEMA.names,
    schemaVersion: FEATURE_SCHEMA.version,
    // Views of the listen table's columns, not copies (the table is not written after it is built).
    y: listens.skipped.subarray(first, n),
    startMs: listens.startMs.subarray(first, n),
    userId: listens.userId.subarray(first, n),
    trackIndex: listens.trackIndex.subarray(first, n),
    sessionId: listens.sessionId.subarray(first, n),
    position: listens.position.subarray(first, n),
    heardMs: listens.heardMs.subarray(first, n),
    durationMs,
    coldUser,
    coldTrack,
    state,
    snapshotAt,
  };
}

function assertTimeOrder(listens: ListenTable): void {
  for (let i = 1; i < listens.length; i++) {
    if (!(listens.startMs[i] >= listens.startMs[i - 1])) {
      throw new Error(
        `listens must be sorted by start time (buildListens does this): row ${i} starts before row ${i - 1}`,
      );
    }
  }
}
