// Count-min sketch with 4-bit saturating counters and periodic halving (TinyLFU's "reset"), so that the
// frequency estimate follows recent popularity instead of all-time counts.
import { fnv1a32 } from "../../base/hash.ts";

const DEPTH = 4;
const MAX_COUNT = 15;

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** MurmurHash3's 32-bit finaliser: a second, independent-enough hash for double hashing. */
function mix32(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

export class CountMinSketch {
  readonly width: number;
  private readonly table: Uint8Array;
  private readonly mask: number;
  private additions = 0;
  /** Increments after which every counter is halved. */
  readonly sampleSize: number;
  resets = 0;

  constructor(expectedEntries: number, sampleFactor = 10) {
    this.width = nextPowerOfTwo(Math.max(16, Math.ceil(expectedEntries)));
    this.mask = this.width - 1;
    this.table = new Uint8Array(DEPTH * this.width);
    this.sampleSize = sampleFactor * this.width;
  }

  private index(row: number, h1: number, h2: number): number {
    return row * this.width + (((h1 + Math.imul(row, h2)) >>> 0) & this.mask);
  }

  increment(key: string): void {
    const h1 = fnv1a32(key);
    const h2 = mix32(h1) | 1;
    for (let row = 0; row < DEPTH; row++) {
      const i = this.index(row, h1, h2);
      if (this.table[i] < MAX_COUNT) this.table[i]++;
    }
    if (++this.additions >= this.sampleSize) this.reset();
  }

  estimate(key: string): number {
    const h1 = fnv1a32(key);
    const h2 = mix32(h1) | 1;
    let min = MAX_COUNT;
    for (let row = 0; row < DEPTH; row++) min = Math.min(min, this.table[this.index(row, h1, h2)]);
    return min;
  }

  private reset(): void {
    for (let i = 0; i < this.table.length; i++) this.table[i] >>= 1;
    this.additions = Math.floor(this.additions / 2);
    this.resets++;
  }
}
