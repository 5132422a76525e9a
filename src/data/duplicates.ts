// Detection of byte-identical lines without keeping the lines. Every line gets a 64-bit fingerprint (two
// independent 32-bit hashes, both covering the length). The probe table holds only [hash1, line number + 1]
// per slot (8 bytes, so a 4.7 M-line file needs 64 MB and a probe touches one cache line); the second hash
// and the byte offset live in arrays indexed by line, written sequentially and read only when hash1 matches.
// A fingerprint hit in a plain file is confirmed by re-reading the earlier line from disk, so plain files are
// exact; in a gzip stream the earlier bytes are gone and a hit is trusted (chance of a false hit ≈ n² / 2⁶⁵,
// about 1e-6 at 4.7 M lines).
import { closeSync, openSync, readSync } from "node:fs";
import { hashBytes, hashBytes2 } from "./hash.ts";

const SEED1 = 0x3c6ef372;
const SEED2 = 0x1b873593;

export class DuplicateLines {
  private capacity: number;
  private count = 0;
  /** Per slot: [hash1, entry + 1]; entry 0 marks an empty slot. */
  private slots: Int32Array;
  private hash2: Int32Array;
  private offsets: Float64Array;
  private fd: number | null = null;
  private scratch = Buffer.alloc(0);

  /**
   * `confirmPath`: the plain file the offsets refer to (null for gzip streams: hits are trusted).
   * `expectedLines` pre-sizes the table (it still grows when exceeded).
   */
  constructor(
    private readonly confirmPath: string | null,
    expectedLines = 1024,
  ) {
    this.capacity = 1024;
    while (this.capacity < expectedLines * 1.4) this.capacity *= 2;
    this.slots = new Int32Array(this.capacity * 2);
    this.hash2 = new Int32Array(Math.max(1024, expectedLines));
    this.offsets = new Float64Array(this.hash2.length);
  }

  /** Records the line; returns true when an identical line was recorded before. */
  seen(bytes: Uint8Array, start: number, end: number, offset: number): boolean {
    const a = hashBytes(bytes, start, end, SEED1);
    const slots = this.slots;
    const mask = this.capacity - 1;
    let slot = a & mask;
    let b = 0;
    let haveB = false;
    for (;;) {
      const at = slot * 2;
      const entry = slots[at + 1];
      if (entry === 0) break;
      if (slots[at] === a) {
        if (!haveB) {
          b = hashBytes2(bytes, start, end, SEED2);
          haveB = true;
        }
        if (this.hash2[entry - 1] === b && this.confirm(bytes, start, end, this.offsets[entry - 1]))
          return true;
      }
      slot = (slot + 1) & mask;
    }
    if (!haveB) b = hashBytes2(bytes, start, end, SEED2);
    const entry = this.count++;
    if (entry === this.hash2.length) {
      const hash2 = new Int32Array(entry * 2);
      hash2.set(this.hash2);
      this.hash2 = hash2;
      const offsets = new Float64Array(entry * 2);
      offsets.set(this.offsets);
      this.offsets = offsets;
    }
    this.hash2[entry] = b;
    this.offsets[entry] = offset;
    slots[slot * 2] = a;
    slots[slot * 2 + 1] = entry + 1;
    if (this.count * 10 > this.capacity * 7) this.grow();
    return false;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private confirm(bytes: Uint8Array, start: number, end: number, earlierOffset: number): boolean {
    if (this.confirmPath === null) return true;
    const length = end - start;
    if (this.fd === null) this.fd = openSync(this.confirmPath, "r");
    if (this.scratch.length < length) this.scratch = Buffer.alloc(Math.max(length, 256));
    const n = readSync(this.fd, this.scratch, 0, length, earlierOffset);
    if (n !== length) return false;
    for (let i = 0; i < length; i++) if (this.scratch[i] !== bytes[start + i]) return false;
    return true;
  }

  private grow(): void {
    const old = this.slots;
    this.capacity *= 2;
    const mask = this.capacity - 1;
    const slots = new Int32Array(this.capacity * 2);
    for (let at = 0; at < old.length; at += 2) {
      if (old[at + 1] === 0) continue;
      let slot = old[at] & mask;
      while (slots[slot * 2 + 1] !== 0) slot = (slot + 1) & mask;
      slots[slot * 2] = old[at];
      slots[slot * 2 + 1] = old[at + 1];
    }
    this.slots = slots;
  }
}
