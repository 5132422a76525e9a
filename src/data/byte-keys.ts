// Lookup of string keys (track ids) straight from UTF-8 bytes, so the sessions fast path interns a track
// id without building a string. Mirrors `Catalog.trackIndex` (same keys, same values).

import { hashBytes } from "./hash.ts";

const EMPTY = -1;
const SEED = 0x2545f491;

export class ByteKeyIndex {
  private readonly mask: number;
  private readonly slots: Int32Array; // value per slot, EMPTY when free
  private readonly keyStart: Int32Array; // per slot: start of the key in `pool`
  private readonly keyLength: Int32Array;
  private readonly pool: Uint8Array;

  constructor(keys: Map<string, number>) {
    let capacity = 16;
    while (capacity < keys.size * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.slots = new Int32Array(capacity).fill(EMPTY);
    this.keyStart = new Int32Array(capacity);
    this.keyLength = new Int32Array(capacity);
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
      let slot = hashBytes(bytes, 0, bytes.length, SEED) & this.mask;
      while (this.slots[slot] !== EMPTY) slot = (slot + 1) & this.mask;
      this.slots[slot] = value;
      this.keyStart[slot] = at;
      this.keyLength[slot] = bytes.length;
      at += bytes.length;
    }
  }

  /** The value stored for the key bytes[start, end), or -1. */
  get(bytes: Uint8Array, start: number, end: number): number {
    const length = end - start;
    let slot = hashBytes(bytes, start, end, SEED) & this.mask;
    for (;;) {
      const value = this.slots[slot];
      if (value === EMPTY) return -1;
      if (this.keyLength[slot] === length) {
        const at = this.keyStart[slot];
        let i = 0;
        while (i < length && this.pool[at + i] === bytes[start + i]) i++;
        if (i === length) return value;
      }
      slot = (slot + 1) & this.mask;
    }
  }
}
