// Detection of byte-identical lines without keeping the lines: every line is hashed to 64 bits (two
// independent 32-bit hashes) plus its length into an open-addressing table of typed arrays. A hit in a plain
// file is confirmed by re-reading the earlier line from disk, so plain files are exact; in a gzip stream the
// earlier bytes are gone and a hit is trusted (chance of a false hit ≈ n² / 2⁶⁵, about 1e-6 at 4.7 M lines).
import { closeSync, openSync, readSync } from "node:fs";

const EMPTY = -1;

export class DuplicateLines {
  private capacity = 1 << 12;
  private count = 0;
  private h1 = new Int32Array(this.capacity);
  private h2 = new Int32Array(this.capacity);
  private lengths = new Int32Array(this.capacity).fill(EMPTY);
  private offsets = new Float64Array(this.capacity);
  private fd: number | null = null;
  private scratch = Buffer.alloc(0);

  /** `confirmPath`: the plain file the offsets refer to (null for gzip streams: hits are trusted). */
  constructor(private readonly confirmPath: string | null) {}

  /** Records the line; returns true when an identical line was recorded before. */
  seen(bytes: Uint8Array, start: number, end: number, offset: number): boolean {
    let a = 0x811c9dc5 | 0;
    let b = 0x9747b28c | 0;
    for (let i = start; i < end; i++) {
      const c = bytes[i];
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b + c, 0x5bd1e995);
      b ^= b >>> 13;
    }
    a ^= a >>> 16;
    const length = end - start;
    const mask = this.capacity - 1;
    let slot = (a ^ Math.imul(b, 0x27d4eb2d)) & mask;
    for (;;) {
      const l = this.lengths[slot];
      if (l === EMPTY) break;
      if (
        l === length &&
        this.h1[slot] === a &&
        this.h2[slot] === b &&
        this.confirm(bytes, start, end, slot)
      ) {
        return true;
      }
      slot = (slot + 1) & mask;
    }
    this.h1[slot] = a;
    this.h2[slot] = b;
    this.lengths[slot] = length;
    this.offsets[slot] = offset;
    if (++this.count * 2 > this.capacity) this.grow();
    return false;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private confirm(bytes: Uint8Array, start: number, end: number, slot: number): boolean {
    if (this.confirmPath === null) return true;
    const length = end - start;
    if (this.fd === null) this.fd = openSync(this.confirmPath, "r");
    if (this.scratch.length < length) this.scratch = Buffer.alloc(Math.max(length, 256));
    const n = readSync(this.fd, this.scratch, 0, length, this.offsets[slot]);
    if (n !== length) return false;
    for (let i = 0; i < length; i++) if (this.scratch[i] !== bytes[start + i]) return false;
    return true;
  }

  private grow(): void {
    const { h1, h2, lengths, offsets } = this;
    this.capacity *= 2;
    const mask = this.capacity - 1;
    this.h1 = new Int32Array(this.capacity);
    this.h2 = new Int32Array(this.capacity);
    this.lengths = new Int32Array(this.capacity).fill(EMPTY);
    this.offsets = new Float64Array(this.capacity);
    for (let s = 0; s < lengths.length; s++) {
      if (lengths[s] === EMPTY) continue;
      let slot = (h1[s] ^ Math.imul(h2[s], 0x27d4eb2d)) & mask;
      while (this.lengths[slot] !== EMPTY) slot = (slot + 1) & mask;
      this.h1[slot] = h1[s];
      this.h2[slot] = h2[s];
      this.lengths[slot] = lengths[s];
      this.offsets[slot] = offsets[s];
    }
  }
}
