// Where the online feature state lives. The embedded default keeps a FeatureState in this process; the
// Redis store keeps the same tallies in Redis, shared by every replica (src/features/redis-store.ts). Both
// learn the same events the same way and write the same vectors, so a model scores identically on either.
import type { LiveEvent } from "../listens/live.ts";
import type { FeatureState } from "./index.ts";
import type { FeatureQuery, ObservedListen } from "./types.ts";
import { COLD_TRACK, COLD_USER } from "./vector.ts";

export interface FeatureStore {
  readonly kind: "memory" | "redis";
  /** Latest event or request time the state has seen, as far as this process knows (-Infinity: none). */
  readonly clockMs: number;
  /** Learns session events, in order; resolves once every update is applied (in Redis: each atomically). */
  applyEvents(events: readonly LiveEvent[]): Promise<void>;
  /** Learns a finished listen reported without a session. */
  observe(listen: ObservedListen): Promise<void>;
  /**
   * Writes the vector of each query at `i × width` of `out`, in order (each moves the stream clock to its
   * time first, as FeatureState.vector does); returns the cold-start bits (COLD_USER | COLD_TRACK) of each.
   * In Redis the queries go out in one pipelined round trip.
   */
  vectors(queries: readonly FeatureQuery[], out: Float32Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

export { COLD_TRACK, COLD_USER };

/** The embedded default: a FeatureState in this process. */
export class MemoryFeatureStore implements FeatureStore {
  readonly kind = "memory";

  constructor(readonly state: FeatureState) {}

  get clockMs(): number {
    return this.state.clockMs;
  }

  async applyEvents(events: readonly LiveEvent[]): Promise<void> {
    for (const event of events) this.state.applyEvent(event);
  }

  async observe(listen: ObservedListen): Promise<void> {
    this.state.observe(listen);
  }

  async vectors(queries: readonly FeatureQuery[], out: Float32Array): Promise<Uint8Array> {
    const cold = new Uint8Array(queries.length);
    const width = this.state.width;
    for (let i = 0; i < queries.length; i++) cold[i] = this.state.writeVector(queries[i], out, i * width);
    return cold;
  }

  async close(): Promise<void> {}
}
