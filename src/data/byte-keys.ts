// Lookup of string keys (track ids) straight from UTF-8 bytes, so the sessions fast path interns a track
// id without building a string. Mirrors `Catalog.trackIndex` (same keys, same values).
import { hashBytes } from "./hash.ts";

const SEED = 0x2545f491;
const STRIDE = 4; // per slot: value + 1 (0 = empty), key start in `pool`, key length, hash

export class ByteKeyIndex {
  private readonly mask: number;
  private readonly slots: Int32Array;
  private readonly pool: Uint8Array;
  /** Slot of the previous hit: consecutive events often name the same track (play, then skip or like). */
  private lastSlot = -1;

  constructor(keys: Map<string, number>) {
    let capacity = 16;
    while (capacity < keys.size * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.slots = new Int32Array(capacity * STRIDE);
    const encoder = new TextEncoder();
    const encoded: Uint8Array[] = [];
    let poolBytes = 0;
    for (const key of keys.keys()) {
      const bytes = encoder.encode(key);
      encoded.push(bytes);
      poolBytes += bytes.length;
    }
    this.pool = new Uint8Array(poolBytes);
    let at = 0;
    let k = 0;
    for (const value of keys.values()) {
      const bytes = encoded[k++];
      this.pool.set(bytes, at);
      const hash = hashBytes(bytes, 0, bytes.length, SEED);
      let slot = hash & this.mask;
      while (this.slots[slot * STRIDE] !== 0) slot = (slot + 1) & this.mask;
      const s = slot * STRIDE;
      this.slots[s] = value + 1;
      this.slots[s + 1] = at;
      this.slots[s + 2] = bytes.length;
      this.slots[s + 3] = hash;
      at += bytes.length;
    }
  }

  /** The value stored for the key bytes[start, end), or -1. */
  get(bytes: Uint8Array, start: number, end: number): number {
    const slots = this.slots;
    if (this.lastSlot >= 0 && this.keyAt(this.lastSlot, bytes, start, end)) return slots[this.lastSlot] - 1;
    const hash = hashBytes(bytes, start, end, SEED);
    let slot = hash & this.mask;
    for (;;) {
      const s = slot * STRIDE;
      const value = slots[s];
      if (value === 0) return -1;
      if (slots[s + 3] === hash && this.keyAt(s, bytes, start, end)) {
        this.lastSlot = s;
        return value - 1;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  private keyAt(s: number, bytes: Uint8Array, start: number, end: number): boolean {
    const length = end - start;
    if (this.slots[s + 2] !== length) return false;
    const pool = this.pool;
    const at = this.slots[s + 1];
    for (let i = 0; i < length; i++) if (pool[at + i] !== bytes[start + i]) return false;
    return true;
  }
}
