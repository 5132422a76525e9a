import { describe, expect, it } from "vitest";
import { loadDelivery } from "../../src/data/index.ts";
import { FEATURE_COUNT, FEATURE_SCHEMA, FeatureState } from "../../src/features/index.ts";
import { buildListens } from "../../src/listens/index.ts";
import type { ListenTable } from "../../src/listens/types.ts";
import { buildDataset } from "../../src/train/dataset.ts";
import { timeSplit } from "../../src/train/split.ts";
import { sharedDelivery } from "../helpers/shared-data.ts";

function head(l: ListenTable, n: number, flipLast: boolean): ListenTable {
  const out = { length: n } as ListenTable;
  for (const key of Object.keys(l) as (keyof ListenTable)[]) {
    if (key !== "length") (out[key] as unknown) = (l[key] as Float64Array).slice(0, n);
  }
  if (flipLast) {
    out.skipped[n - 1] ^= 1;
    out.heardMs[n - 1] = 0;
  }
  return out;
}

describe("dataset of 2023L-v2", async () => {
  const { catalog, events } = await loadDelivery(sharedDelivery("2023L-v2"));
  const listens = buildListens(events, catalog);
  const ds = buildDataset(listens, catalog);

  it("splits 70/10/20 by time: the last 2,046 listens are the test set", () => {
    const split = timeSplit(ds.startMs);
    expect([split.train.length, split.validation.length, split.test.length]).toEqual([7_160, 1_023, 2_046]);
    expect(new Date(split.testStartMs).toISOString()).toBe("2023-03-11T02:59:25.073Z");
  });

  it("vectors do not depend on their own outcome or later listens (real data)", () => {
    const row = (d: Float32Array, r: number) =>
      Buffer.from(d.buffer, r * FEATURE_COUNT * 4, FEATURE_COUNT * 4);
    for (const r of [0, 4_321, 10_228]) {
      const part = buildDataset(head(listens, r + 1, true), catalog);
      expect(row(part.X.data, r).equals(row(ds.X.data, r))).toBe(true);
    }
  });

  it("starts every session with no previous outcome, and NaN nowhere else in that column", () => {
    const prev = FEATURE_SCHEMA.names.indexOf("session_prev_skipped");
    let mismatches = 0;
    for (let i = 0; i < ds.X.rows; i++) {
      const missing = Number.isNaN(ds.X.data[i * FEATURE_COUNT + prev]);
      if (missing !== (listens.position[i] === 0)) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it("its final state snapshot round-trips on the real catalogue, loaded afresh", async () => {
    const reloaded = (await loadDelivery(sharedDelivery("2023L-v2"))).catalog;
    const restored = FeatureState.restore(reloaded, ds.state.snapshot());
    const a = new Float32Array(FEATURE_COUNT);
    const b = new Float32Array(FEATURE_COUNT);
    const firstUser = [...catalog.users.keys()][0];
    for (const q of [
      {
        userId: firstUser,
        trackIndex: listens.trackIndex[100],
        timestampMs: 1.7e12,
        sessionId: listens.sessionId[9_000],
      },
      { userId: 123_456, trackId: "no-such-track", timestampMs: 1.7e12 },
    ]) {
      const ca = ds.state.vector(q, a).coldStart;
      const cb = restored.vector(q, b).coldStart;
      expect(cb).toEqual(ca);
      expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    }
  });
});
