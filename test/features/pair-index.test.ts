import { describe, expect, it } from "vitest";
import { PairIndex } from "../../src/features/pair-index.ts";

describe("PairIndex", () => {
  it("gives each distinct pair one dense slot, through many rehashes", () => {
    const index = new PairIndex(2);
    const expected = new Map<string, number>();
    let s = 11;
    let wrong = 0;
    for (let i = 0; i < 50_000; i++) {
      s = (s * 48271) % 2147483647;
      const a = s % 700;
      const b = (s >>> 3) % 3000;
      const slot = index.intern(a, b);
      const key = `${a},${b}`;
      if (!expected.has(key)) expected.set(key, expected.size);
      if (slot !== expected.get(key)) wrong++;
    }
    expect(wrong).toBe(0);
    expect(index.size).toBe(expected.size);
    for (const [key, slot] of expected) {
      const [a, b] = key.split(",").map(Number);
      expect(index.find(a, b)).toBe(slot);
    }
    expect(index.find(701, 0)).toBe(-1);
    expect(index.find(0, 3001)).toBe(-1);
  });

  it("tells (a, b) from (b, a) and rebuilds from its pairs", () => {
    const index = new PairIndex();
    const ab = index.intern(1, 2);
    const ba = index.intern(2, 1);
    expect(ab).not.toBe(ba);
    const rebuilt = PairIndex.fromPairs(index.first.slice(0, index.size), index.second.slice(0, index.size));
    expect(rebuilt.find(1, 2)).toBe(ab);
    expect(rebuilt.find(2, 1)).toBe(ba);
    expect(rebuilt.intern(3, 3)).toBe(2);
  });

  it("keeps its pairs through reserve and needs no growth up to the reserved size", () => {
    const index = new PairIndex();
    index.intern(5, 6);
    index.reserve(1000);
    const arrays = index.first;
    for (let i = 0; i < 999; i++) index.intern(i, i + 1_000);
    expect(index.first).toBe(arrays);
    expect(index.find(5, 6)).toBe(0);
    expect(index.find(998, 1_998)).toBe(999);
    expect(index.size).toBe(1000);
  });
});
