// The Redis feature store against the in-process FeatureState, on a real delivery and a real redis-server:
// load ∘ export is the identity on snapshot bytes; the same events give the same vectors (bit for bit) and
// the same exported state; concurrent writers lose no increment.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDelivery } from "../../src/data/index.ts";
import type { Catalog, EventTable } from "../../src/data/types.ts";
import { FEATURE_COUNT, FeatureState } from "../../src/features/index.ts";
import { exportSnapshotFromRedis, loadSnapshotIntoRedis } from "../../src/features/redis-snapshot.ts";
import { connectRedis, RedisFeatureStore } from "../../src/features/redis-store.ts";
import { MemoryFeatureStore } from "../../src/features/store.ts";
import type { LiveEvent } from "../../src/listens/live.ts";
import { sharedDelivery } from "../helpers/shared-data.ts";
import { type RedisServer, scaleServersOrSkip, startRedis } from "./servers.ts";

const skip = scaleServersOrSkip(["redis"]);

function eventAt(events: EventTable, i: number): LiveEvent {
  return {
    kind: events.kind[i],
    timestampMs: events.timestampMs[i],
    userId: events.userId[i],
    sessionId: events.sessionId[i],
    trackIndex: events.trackIndex[i],
  };
}

describe.skipIf(skip)("Redis feature store (real redis-server)", () => {
  let redis: RedisServer;
  let catalog: Catalog;
  let events: EventTable;
  let cut: number;
  let snapshot: Buffer;

  beforeAll(async () => {
    redis = await startRedis();
    const delivery = await loadDelivery(sharedDelivery("2023L-v2"));
    catalog = delivery.catalog;
    events = delivery.events;
    cut = Math.floor(events.length * 0.8);
    const state = new FeatureState(catalog);
    for (let i = 0; i < cut; i++) state.applyEvent(eventAt(events, i));
    snapshot = state.snapshot();
  }, 120_000);

  afterAll(async () => {
    await redis?.stop();
  });

  it("load then export gives the snapshot's bytes back", async () => {
    const client = connectRedis(redis.url);
    await client.connect();
    try {
      const loaded = await loadSnapshotIntoRedis(client, catalog, snapshot, { origin: "t1", prefix: "a:" });
      expect(loaded.users).toBeGreaterThan(0);
      const { snapshot: back } = await exportSnapshotFromRedis(client, catalog, "a:");
      expect(back.equals(snapshot)).toBe(true);
      await expect(
        loadSnapshotIntoRedis(client, catalog, snapshot, { origin: "t1", prefix: "a:" }),
      ).rejects.toThrow(/--replace/);
    } finally {
      client.disconnect();
    }
  }, 120_000);

  it("the rest of the stream, events and queries interleaved: same vectors and same state as in-process", async () => {
    const client = connectRedis(redis.url);
    await client.connect();
    await loadSnapshotIntoRedis(client, catalog, snapshot, { origin: "t2", prefix: "b:" });
    client.disconnect();
    const store = await RedisFeatureStore.open(redis.url, catalog, "b:");
    const memory = new MemoryFeatureStore(FeatureState.restore(catalog, snapshot));
    const a = new Float32Array(FEATURE_COUNT);
    const b = new Float32Array(FEATURE_COUNT);
    let compared = 0;
    let mismatched = 0;
    try {
      const end = Math.min(events.length, cut + 6_000);
      for (let i = cut; i < end; i++) {
        const e = eventAt(events, i);
        if (e.kind === 0) {
          // The prediction a client asks before each play, then the play itself.
          const query = {
            userId: e.userId,
            trackIndex: e.trackIndex,
            timestampMs: e.timestampMs,
            sessionId: e.sessionId,
          };
          const [coldA] = await memory.vectors([query], a);
          const [coldB] = await store.vectors([query], b);
          compared++;
          if (coldA !== coldB || Buffer.compare(Buffer.from(a.buffer), Buffer.from(b.buffer)) !== 0)
            mismatched++;
        }
        await memory.applyEvents([e]);
        await store.applyEvents([e]);
      }
      // A listen reported without a session, and a user never seen.
      const listen = {
        userId: 987654,
        trackIndex: 3,
        startMs: events.timestampMs[end - 1],
        skipped: true,
        heardMs: 1234,
      };
      await memory.observe(listen);
      await store.observe(listen);
      expect(compared).toBeGreaterThan(1000);
      expect(mismatched).toBe(0);
      expect(store.clockMs).toBe(memory.clockMs);
      const check = connectRedis(redis.url);
      await check.connect();
      const { snapshot: exported } = await exportSnapshotFromRedis(check, catalog, "b:");
      check.disconnect();
      expect(exported.equals(memory.state.snapshot())).toBe(true);
    } finally {
      await store.close();
    }
  }, 300_000);
});
