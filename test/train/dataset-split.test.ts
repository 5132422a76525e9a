import { describe, expect, it } from "vitest";
import { rowsOf, selectRows, selectValues, splitAtTimes, timeSplit } from "../../src/train/split.ts";

describe("timeSplit", () => {
  it("cuts 70/10/20 by time on distinct times, whatever the row order", () => {
    const times = Float64Array.from({ length: 100 }, (_, i) => 1000 + ((i * 37) % 100)); // a permutation
    const split = timeSplit(times);
    expect([split.train.length, split.validation.length, split.test.length]).toEqual([70, 10, 20]);
    expect(split.validationStartMs).toBe(1070);
    expect(split.testStartMs).toBe(1080);
    const maxOf = (rows: Int32Array) => Math.max(...Array.from(rows, (r) => times[r]));
    const minOf = (rows: Int32Array) => Math.min(...Array.from(rows, (r) => times[r]));
    expect(maxOf(split.train)).toBeLessThan(minOf(split.validation));
    expect(maxOf(split.validation)).toBeLessThan(minOf(split.test));
    const all = [...split.train, ...split.validation, ...split.test].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (const part of [split.train, split.validation, split.test]) {
      for (let i = 1; i < part.length; i++) expect(part[i]).toBeGreaterThan(part[i - 1]);
    }
  });

  it("sends every row at a cut's exact time to the later part", () => {
    const times = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 8, 8]);
    const split = timeSplit(times, { train: 0.6, validation: 0.2, test: 0.2 });
    // test = last 2 rows by time → cut at 8, which takes all three rows at 8; validation's cut is
    // the 7th smallest time (7), so it keeps only the row at 7
    expect(Array.from(split.test)).toEqual([7, 8, 9]);
    expect(Array.from(split.validation)).toEqual([6]);
    expect(Array.from(split.train)).toEqual([0, 1, 2, 3, 4, 5]);
    expect([split.validationStartMs, split.testStartMs]).toEqual([7, 8]);
  });

  it("handles empty parts and empty input", () => {
    const times = Float64Array.from([5, 6, 7, 8]);
    const noValidation = timeSplit(times, { train: 0.5, validation: 0, test: 0.5 });
    expect([noValidation.train.length, noValidation.validation.length, noValidation.test.length]).toEqual([
      2, 0, 2,
    ]);
    expect(Number.isNaN(noValidation.validationStartMs)).toBe(true);
    const allTrain = timeSplit(times, { train: 1, validation: 0, test: 0 });
    expect(allTrain.train.length).toBe(4);
    const empty = timeSplit(new Float64Array(0));
    expect(empty.train.length + empty.validation.length + empty.test.length).toBe(0);
    const one = timeSplit(Float64Array.from([1]), { train: 0, validation: 0.5, test: 0.5 });
    expect(one.train.length + one.validation.length + one.test.length).toBe(1);
  });

  it("rejects fractions that do not make a split", () => {
    expect(() => timeSplit(new Float64Array(3), { train: 0.7, validation: 0.2, test: 0.2 })).toThrow(
      /sum to 1/,
    );
    expect(() => timeSplit(new Float64Array(3), { train: 1.2, validation: -0.2, test: 0 })).toThrow(
      /within \[0, 1\]/,
    );
  });
});

describe("splitAtTimes", () => {
  it("puts rows in [cut k-1, cut k) parts", () => {
    const times = Float64Array.from([10, 20, 30, 40, 50]);
    expect(splitAtTimes(times, [20, 45]).map((p) => Array.from(p))).toEqual([[0], [1, 2, 3], [4]]);
    expect(splitAtTimes(times, []).map((p) => Array.from(p))).toEqual([[0, 1, 2, 3, 4]]);
    expect(() => splitAtTimes(times, [30, 20])).toThrow(/ascending/);
  });
});

describe("selectRows / selectValues", () => {
  it("gathers rows of a matrix and entries of a column in the order asked", () => {
    const X = { rows: 3, cols: 2, data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    const picked = selectRows(X, Int32Array.from([2, 0]));
    expect(picked.rows).toBe(2);
    expect(Array.from(picked.data)).toEqual([5, 6, 1, 2]);
    const y = selectValues(Uint8Array.from([1, 0, 1]), Int32Array.from([1, 2]));
    expect(y).toBeInstanceOf(Uint8Array);
    expect(Array.from(y)).toEqual([0, 1]);
  });
});

describe("rowsOf", () => {
  const X = { rows: 5, cols: 2, data: Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) };
  it("is a view sharing X's memory for one ascending run of rows (a time split of rows in time order)", () => {
    const part = rowsOf(X, Int32Array.from([1, 2, 3]));
    expect(part.rows).toBe(3);
    expect([...part.data]).toEqual([2, 3, 4, 5, 6, 7]);
    expect(part.data.buffer).toBe(X.data.buffer);
  });
  it("copies rows in the given order otherwise", () => {
    const part = rowsOf(X, Int32Array.from([3, 1]));
    expect([...part.data]).toEqual([6, 7, 2, 3]);
    expect(part.data.buffer).not.toBe(X.data.buffer);
    expect(rowsOf(X, new Int32Array(0)).rows).toBe(0);
  });
});
