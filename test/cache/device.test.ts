import { describe, expect, it } from "vitest";
import { CountMinSketch } from "../../src/cache/device/count-min.ts";
import { LruCache } from "../../src/cache/device/lru.ts";
import { replayDevice } from "../../src/cache/device/replay.ts";
import { S3FifoCache } from "../../src/cache/device/s3fifo.ts";
import type { DeviceCache } from "../../src/cache/device/types.ts";
import { WTinyLfuCache } from "../../src/cache/device/wtinylfu.ts";
import { simulateCache } from "../../src/cache/simulate.ts";
import type { CacheListen } from "../../src/cache/types.ts";

/** Requests every key (unit size); returns the hits of each request. */
function run(cache: DeviceCache, trace: string[]): boolean[] {
  return trace.map((key) => {
    if (cache.access(key)) return true;
    cache.insert(key, 1);
    return false;
  });
}

const HOT = ["h1", "h2", "h3", "h4", "h5"];
const SCAN = Array.from({ length: 50 }, (_, i) => `s${i}`);
const WARM_UP = [...HOT, ...HOT, ...HOT, ...HOT];

function hotHitsAfterScan(cache: DeviceCache): number {
  run(cache, [...WARM_UP, ...SCAN]);
  return run(cache, HOT).filter(Boolean).length;
}

describe("LRU", () => {
  it("evicts the least recently used key", () => {
    const evicted: string[] = [];
    const lru = new LruCache(3, (k) => evicted.push(k));
    expect(run(lru, ["a", "b", "c", "a", "d"])).toEqual([false, false, false, true, false]);
    expect(evicted).toEqual(["b"]);
    expect(lru.has("a") && lru.has("c") && lru.has("d")).toBe(true);
    expect(lru.used).toBe(3);
  });
  it("counts bytes: a large object evicts several, an object over capacity is refused", () => {
    const lru = new LruCache(10);
    lru.insert("a", 4);
    lru.insert("b", 4);
    lru.insert("c", 8);
    expect(lru.has("a") || lru.has("b")).toBe(false);
    expect(lru.insert("huge", 11)).toBe(false);
    expect(lru.used).toBe(8);
  });
  it("is flushed by a scan", () => {
    expect(hotHitsAfterScan(new LruCache(10))).toBe(0);
  });
});

describe("S3-FIFO", () => {
  it("keeps a one-hit wonder out of main: small queue, then ghost; a returning ghost goes to main", () => {
    const cache = new S3FifoCache(10);
    expect(cache.smallCapacity).toBe(1);
    run(cache, ["x", "y"]);
    expect(cache.where("x")).toBe("ghost");
    expect(cache.where("y")).toBe("small");
    run(cache, ["x"]);
    expect(cache.where("x")).toBe("main");
  });
  it("moves an object re-requested while in the small queue to main", () => {
    const cache = new S3FifoCache(10);
    run(cache, ["x", "x", "y"]);
    expect(cache.where("x")).toBe("main");
  });
  it("gives main objects with a non-zero frequency a second chance", () => {
    const evicted: string[] = [];
    const cache = new S3FifoCache(4, (k) => evicted.push(k), { smallShare: 0.25 });
    // a, b, c reach main through the ghost; then a is re-requested (freq 1) before d forces an eviction.
    run(cache, ["a", "b", "c", "z", "a", "b", "c", "a"]);
    expect(["a", "b", "c"].map((k) => cache.where(k))).toEqual(["main", "main", "main"]);
    run(cache, ["d", "e", "d"]);
    // d reaches main via the ghost and must evict: a (freq 1) is reinserted, b (freq 0) goes.
    expect(cache.where("a")).toBe("main");
    expect(cache.where("b")).toBeUndefined();
    expect(evicted).toContain("b");
    expect(cache.used).toBeLessThanOrEqual(4);
  });
  it("does not let a scan flush the hot set", () => {
    expect(hotHitsAfterScan(new S3FifoCache(10))).toBe(5);
  });
});

describe("W-TinyLFU", () => {
  it("admits a candidate only when it is more frequent than the victim", () => {
    const cache = new WTinyLfuCache(2, undefined, { expectedEntries: 64 });
    run(cache, ["x", "y"]);
    expect(cache.where("x")).toBe("probation");
    expect(run(cache, ["z"])).toEqual([false]);
    expect(cache.has("z")).toBe(false); // z seen once, x seen once: rejected
    expect(run(cache, ["z"])).toEqual([false]);
    expect(cache.has("z")).toBe(true); // z seen twice beats x
    expect(cache.has("x")).toBe(false);
  });
  it("promotes a probation hit to the protected segment", () => {
    const cache = new WTinyLfuCache(10, undefined, { expectedEntries: 64 });
    run(cache, ["a", "a"]);
    expect(cache.where("a")).toBe("protected");
  });
  it("does not let a scan flush the hot set", () => {
    expect(hotHitsAfterScan(new WTinyLfuCache(10, undefined, { expectedEntries: 64 }))).toBe(5);
  });
});

describe("CountMinSketch", () => {
  it("never underestimates and saturates at 15", () => {
    const sketch = new CountMinSketch(1024);
    for (let i = 0; i < 7; i++) sketch.increment("seven");
    for (let i = 0; i < 20; i++) sketch.increment("twenty");
    expect(sketch.estimate("seven")).toBeGreaterThanOrEqual(7);
    expect(sketch.estimate("seven")).toBeLessThanOrEqual(8);
    expect(sketch.estimate("twenty")).toBe(15);
    expect(sketch.estimate("never")).toBeLessThanOrEqual(1);
  });
  it("halves every counter after sampleSize increments", () => {
    const sketch = new CountMinSketch(16, 1);
    expect(sketch.sampleSize).toBe(16);
    for (let i = 0; i < 10; i++) sketch.increment("k");
    expect(sketch.estimate("k")).toBe(10);
    for (let i = 0; i < 6; i++) sketch.increment(`other${i}`);
    expect(sketch.resets).toBe(1);
    expect(sketch.estimate("k")).toBeLessThanOrEqual(5);
    expect(sketch.estimate("k")).toBeGreaterThanOrEqual(5);
  });
});

function listen(
  trackId: string,
  durationMs: number,
  heardMs: number,
  skipped: boolean,
  startMs: number,
): CacheListen {
  return { userId: 1, sessionId: Math.floor(startMs / 1e6), trackId, durationMs, heardMs, skipped, startMs };
}

describe("replayDevice", () => {
  it("accounts hits, admissions, streaming and the waste of cached copies (1 ms = 1 byte)", () => {
    const listens = [
      listen("a", 100, 100, false, 0),
      listen("b", 100, 10, true, 100),
      listen("a", 100, 100, false, 200),
      listen("c", 100, 30, true, 300),
      listen("b", 100, 100, false, 400),
    ];
    const r = replayDevice(listens, { policy: "lru", capacityBytes: 1000, bitrateBytesPerSecond: 1000 });
    expect(r.requests).toBe(5);
    expect(r.hits).toBe(2);
    expect(r.hitRatio).toBeCloseTo(0.4, 15);
    expect(r.admittedBytes).toBe(300);
    expect(r.streamedBytes).toBe(0);
    expect(r.downloadedBytes).toBe(300);
    // b's tail was heard later while cached; c's 70 ms tail never was.
    expect(r.wastedBytes).toBe(70);
    expect(r.byteHitRatio).toBeCloseTo(200 / 340, 15);
  });

  it("gives every user's device its own cache", () => {
    const a = listen("t", 100, 100, false, 0);
    const shared = replayDevice([a, { ...a, startMs: 1 }], {
      policy: "lru",
      capacityBytes: 1000,
      bitrateBytesPerSecond: 1000,
    });
    expect(shared.hits).toBe(1);
    const twoUsers = replayDevice([a, { ...a, userId: 2, startMs: 1 }], {
      policy: "lru",
      capacityBytes: 1000,
      bitrateBytesPerSecond: 1000,
    });
    expect(twoUsers.hits).toBe(0);
    expect(twoUsers.admittedBytes).toBe(200);
  });

  it("replays in start-time order whatever the input order", () => {
    const listens = [
      listen("a", 100, 100, false, 200),
      listen("a", 100, 100, false, 0),
      listen("b", 100, 5, true, 100),
    ];
    const r = replayDevice(listens, { policy: "lru", capacityBytes: 100, bitrateBytesPerSecond: 1000 });
    // time order: a, b (evicts a), a (miss) → no hits
    expect(r.hits).toBe(0);
    expect(r.evictions).toBe(2);
  });

  it("skip-aware admission keeps predicted skips out, protecting the favourites and saving bytes", () => {
    const listens: CacheListen[] = [];
    let t = 0;
    for (let day = 0; day < 5; day++) {
      for (const fav of ["f1", "f2", "f3"]) listens.push(listen(fav, 100, 100, false, t++));
      for (let k = 0; k < 6; k++) listens.push(listen(`once${day}-${k}`, 100, 5, true, t++));
    }
    const admitPlays = Uint8Array.from(listens, (l) => (l.skipped ? 0 : 1));
    for (const policy of ["lru", "s3fifo", "wtinylfu"] as const) {
      const all = replayDevice(listens, { policy, capacityBytes: 400, bitrateBytesPerSecond: 1000 });
      const aware = replayDevice(listens, {
        policy,
        capacityBytes: 400,
        bitrateBytesPerSecond: 1000,
        admit: admitPlays,
      });
      // Favourites hit on days 2–5; S3-FIFO first sends f1 and f2 through its ghost queue (a day-2 miss each).
      expect(aware.hits).toBe(policy === "s3fifo" ? 10 : 12);
      expect(aware.hits).toBeGreaterThanOrEqual(all.hits);
      expect(aware.admittedBytes).toBe(policy === "s3fifo" ? 500 : 300);
      expect(aware.streamedBytes).toBe(30 * 5);
      expect(aware.wastedBytes).toBe(0);
      // W-TinyLFU's own frequency filter already rejects the one-off tracks; the others download them whole.
      if (policy === "wtinylfu") expect(aware.downloadedBytes).toBeLessThanOrEqual(all.downloadedBytes);
      else expect(aware.downloadedBytes).toBeLessThan(all.downloadedBytes);
    }
    const lruAll = replayDevice(listens, { policy: "lru", capacityBytes: 400, bitrateBytesPerSecond: 1000 });
    expect(lruAll.hits).toBe(0); // six one-off tracks per day flush a 4-track LRU
    expect(lruAll.wastedBytes).toBe(30 * 95);
  });

  it("runs every policy × capacity × admission from simulateCache", () => {
    const listens = Array.from({ length: 40 }, (_, i) =>
      listen(`t${i % 7}`, 100, i % 3 === 0 ? 10 : 100, i % 3 === 0, i),
    );
    const pSkip = Float64Array.from(listens, (l) => (l.skipped ? 0.9 : 0.1));
    const sim = simulateCache(listens, {
      costModel: { wastePerMb: 1, stall: 4, bitrateKbps: 8 },
      models: [{ name: "m", pSkip, threshold: 0.5 }],
      device: { capacitiesBytes: [200, 500] },
    });
    expect(sim.device).toHaveLength(2 * 3 * 3);
    expect(new Set(sim.device.map((d) => d.admission))).toEqual(
      new Set(["all", "skip-aware m @ 0.5", "skip-aware oracle"]),
    );
    for (const d of sim.device) {
      expect(d.downloadedBytes).toBe(d.admittedBytes + d.streamedBytes);
      expect(d.hits).toBeLessThanOrEqual(d.requests);
    }
    expect(() => simulateCache(listens, { device: { capacitiesBytes: [0] } })).toThrow(/capacity/);
  });
});

describe("every policy on a random trace", () => {
  it("never holds more bytes than its capacity and reports evictions of resident keys only", () => {
    let seed = 12345;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const sizes = new Map<string, number>();
    const trace = Array.from({ length: 3000 }, () => `k${Math.floor(random() ** 2 * 200)}`);
    for (const key of trace) if (!sizes.has(key)) sizes.set(key, 1 + Math.floor(random() * 9));
    for (const make of [
      (f: (k: string) => void) => new LruCache(60, f),
      (f: (k: string) => void) => new S3FifoCache(60, f),
      (f: (k: string) => void) => new WTinyLfuCache(60, f, { expectedEntries: 64 }),
    ]) {
      const resident = new Set<string>();
      let badEviction = 0;
      const cache = make((k) => {
        if (!resident.delete(k)) badEviction++;
      });
      let hits = 0;
      for (const key of trace) {
        if (cache.access(key)) {
          hits++;
          expect(resident.has(key)).toBe(true);
          continue;
        }
        resident.add(key);
        if (!cache.insert(key, sizes.get(key) as number)) resident.delete(key);
        expect(cache.used).toBeLessThanOrEqual(60);
      }
      for (const key of resident) expect(cache.has(key)).toBe(true);
      expect(hits).toBeGreaterThan(0);
      expect(badEviction).toBe(0);
    }
  });
});
