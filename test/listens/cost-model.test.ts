import { describe, expect, it } from "vitest";
import {
  bytesOfMs,
  costOf,
  DEFAULT_COST_MODEL,
  describeCostModel,
  listenCosts,
  prefetchCost,
  prefetchCosts,
  streamCost,
  streamCosts,
  validateCostModel,
} from "../../src/listens/cost-model.ts";

describe("the cost model", () => {
  it("defaults to 1 per wasted MB, 4 per stall at 160 kbit/s: a 4-minute track is 4.8 MB", () => {
    expect(DEFAULT_COST_MODEL).toEqual({ wastePerMb: 1, stall: 4, bitrateKbps: 160 });
    expect(Object.isFrozen(DEFAULT_COST_MODEL)).toBe(true);
    expect(bytesOfMs(240_000, DEFAULT_COST_MODEL)).toBe(4_800_000);
    expect(describeCostModel(DEFAULT_COST_MODEL)).toBe("1 per wasted MB, 4 per stall, 160 kbit/s");
  });

  it("prices a prefetched skip by the MB after the skip point, a streamed full play by one stall", () => {
    const c = DEFAULT_COST_MODEL;
    // 240 s track skipped at 30 s: 210 s × 20 kB/s = 4.2 MB wasted.
    expect(prefetchCost(true, 240_000, 30_000, c)).toBeCloseTo(4.2, 12);
    expect(prefetchCost(false, 240_000, 240_000, c)).toBe(0);
    expect(streamCost(false, c)).toBe(4);
    expect(streamCost(true, c)).toBe(0);
    // Heard time capped to [0, duration]; unknown heard time counts as nothing heard; unknown duration as no waste.
    expect(prefetchCost(true, 100_000, 250_000, c)).toBe(0);
    expect(prefetchCost(true, 100_000, -5, c)).toBeCloseTo(2, 12);
    expect(prefetchCost(true, 100_000, Number.NaN, c)).toBeCloseTo(2, 12);
    expect(prefetchCost(true, Number.NaN, 0, c)).toBe(0);
    expect(costOf(4_200_000, 2, c)).toBeCloseTo(12.2, 12);
    expect(costOf(1e6, 1, { wastePerMb: 3, stall: 0.5, bitrateKbps: 8 })).toBe(3.5);
  });

  it("batch versions agree with the per-listen helpers", () => {
    const c = { wastePerMb: 2, stall: 3, bitrateKbps: 8 }; // 1 byte per ms
    const skipped = Uint8Array.from([1, 0, 1]);
    const duration = Float64Array.from([1_000_000, 500_000, 2_000_000]);
    const heard = Float64Array.from([250_000, 500_000, 0]);
    expect([...prefetchCosts(skipped, duration, heard, c)]).toEqual([1.5, 0, 4]);
    expect([...streamCosts(skipped, c)]).toEqual([0, 3, 0]);
    const both = listenCosts(skipped, duration, heard, c);
    expect([...both.prefetch]).toEqual([1.5, 0, 4]);
    expect([...both.stream]).toEqual([0, 3, 0]);
    expect(() => prefetchCosts(skipped, duration.subarray(1), heard, c)).toThrow(/3 outcomes, 2 durations/);
  });

  it("rejects a cost model it cannot use, naming the field", () => {
    expect(validateCostModel(DEFAULT_COST_MODEL, "x")).toBe(DEFAULT_COST_MODEL);
    expect(() => validateCostModel({ ...DEFAULT_COST_MODEL, stall: -1 }, "train")).toThrow(
      /train: cost model field "stall" must be a finite number >= 0, got -1/,
    );
    expect(() => validateCostModel({ ...DEFAULT_COST_MODEL, wastePerMb: Number.NaN }, "t")).toThrow(
      /"wastePerMb"/,
    );
    expect(() => validateCostModel({ ...DEFAULT_COST_MODEL, bitrateKbps: 0 }, "t")).toThrow(
      /"bitrateKbps" must be > 0/,
    );
    expect(() => validateCostModel({ wastePerMb: 0, stall: 0, bitrateKbps: 160 }, "t")).toThrow(/both 0/);
  });
});
