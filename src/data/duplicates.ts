// Detection of byte-identical lines without keeping the lines.
//
// A byte-identical line decodes to the same session id, so the sessions reader looks for duplicates per
// session ("group"). Only the current group's fingerprints sit in a small open-addressing table (cache
// resident, cleared in O(1) by a generation counter); every fingerprint is also appended to a log, and a
// group that comes back later (interleaved sessions) has its earlier log segments reloaded. Should reloading
// ever cost more than the lines themselves (a file that interleaves sessions line by line), the detector
// switches to one table for all lines. Lines without a session id and catalogue files use one group.
//
// A hash hit in a plain file is confirmed by re-reading the earlier line from disk (offset and length are
// kept per line number), so plain files are exact. In a gzip stream the earlier bytes are gone: lines then
// carry a second, independent 32-bit hash and a 64-bit match is trusted (false hit ≈ n² / 2⁶⁵ over the file).
import { closeSync, openSync, readSync } from "node:fs";
import { hashBytes, hashBytes2 } from "./hash.ts";

const SEED1 = 0x3c6ef372;
const SEED2 = 0x1b873593;
const STRIDE = 3; // scratch slot: generation, hash1, line number

/** The lines of one group (a session), as [start, end) segments of the detector's log. */
export class LineGroup {
  readonly segments: number[] = [];
}

export class DuplicateLines {
  /** Per line number: stream offset, length, and (gzip only) the second hash. */
  private offsets: Float64Array;
  private lengths: Int32Array;
  private hash2: Int32Array | null;
  /** Log of [hash1, line number] in insertion order. */
  private log: Int32Array;
  private logLength = 0;
  private scratch: Int32Array;
  private capacity = 1024;
  private count = 0;
  private generation = 1;
  private current: LineGroup | null = null;
  private segmentStart = 0;
  private reloaded = 0;
  /** True once every line goes to one table (see mergeAll). */
  single = false;
  private fd: number | null = null;
  private buffer = Buffer.alloc(0);
  /** The group for lines that belong to no session (and for catalogue files). */
  readonly global = new LineGroup();

  /**
   * `confirmPath`: the plain file the offsets refer to; null for a gzip stream (hits are trusted).
   * `expectedLines` pre-sizes the per-line arrays (they still grow when exceeded). `reloadAllowance`: fingerprints
   * reloaded beyond twice the lines seen before switching to one table (a parameter for tests).
   */
  constructor(
    private readonly confirmPath: string | null,
    expectedLines = 1024,
    private readonly reloadAllowance = 1_000_000,
  ) {
    const lines = Math.max(1024, expectedLines + 1);
    this.offsets = new Float64Array(lines);
    this.lengths = new Int32Array(lines);
    this.hash2 = confirmPath === null ? new Int32Array(lines) : null;
    this.log = new Int32Array(lines * 2);
    this.scratch = new Int32Array(this.capacity * STRIDE);
  }

  /**
   * Records line `lineNo` (bytes[start, end), at `offset` in the stream) in `group`; returns true when an
   * identical line was recorded in the same group before.
   */
  seen(
    group: LineGroup,
    bytes: Uint8Array,
    start: number,
    end: number,
    lineNo: number,
    offset: number,
  ): boolean {
    if (group !== this.current && !this.single) this.switchTo(group);
    const a = hashBytes(bytes, start, end, SEED1);
    const b = this.hash2 === null ? 0 : hashBytes2(bytes, start, end, SEED2);
    const length = end - start;
    const scratch = this.scratch;
    const generation = this.generation;
    const mask = this.capacity - 1;
    let slot = a & mask;
    for (;;) {
      const s = slot * STRIDE;
      if (scratch[s] !== generation) break;
      if (scratch[s + 1] === a) {
        const earlier = scratch[s + 2];
        if (this.lengths[earlier] === length && this.same(earlier, b, bytes, start, end)) return true;
      }
      slot = (slot + 1) & mask;
    }
    if (lineNo >= this.lengths.length) this.growLines(lineNo);
    this.offsets[lineNo] = offset;
    this.lengths[lineNo] = length;
    if (this.hash2 !== null) this.hash2[lineNo] = b;
    if (this.logLength * 2 >= this.log.length) {
      const log = new Int32Array(this.log.length * 2);
      log.set(this.log);
      this.log = log;
    }
    this.log[2 * this.logLength] = a;
    this.log[2 * this.logLength + 1] = lineNo;
    this.logLength++;
    this.insert(a, lineNo);
    return false;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private insert(a: number, lineNo: number): void {
    if ((this.count + 1) * 2 > this.capacity) this.growScratch();
    const scratch = this.scratch;
    const mask = this.capacity - 1;
    let slot = a & mask;
    while (scratch[slot * STRIDE] === this.generation) slot = (slot + 1) & mask;
    const s = slot * STRIDE;
    scratch[s] = this.generation;
    scratch[s + 1] = a;
    scratch[s + 2] = lineNo;
    this.count++;
  }

  private switchTo(group: LineGroup): void {
    if (this.current !== null && this.logLength > this.segmentStart) {
      this.current.segments.push(this.segmentStart, this.logLength);
    }
    this.generation++;
    this.count = 0;
    this.current = group;
    this.segmentStart = this.logLength;
    const segments = group.segments;
    for (let i = 0; i < segments.length; i += 2) {
      this.reloaded += segments[i + 1] - segments[i];
      for (let k = segments[i]; k < segments[i + 1]; k++) this.insert(this.log[2 * k], this.log[2 * k + 1]);
    }
    if (this.reloaded > 2 * this.logLength + this.reloadAllowance) this.mergeAll();
  }

  /** Interleaving too fine for per-group tables: from now on one table holds every line. */
  private mergeAll(): void {
    this.single = true;
    this.generation++;
    this.count = 0;
    for (let k = 0; k < this.logLength; k++) this.insert(this.log[2 * k], this.log[2 * k + 1]);
  }

  private growScratch(): void {
    const old = this.scratch;
    const generation = this.generation;
    this.capacity *= 2;
    this.scratch = new Int32Array(this.capacity * STRIDE);
    const mask = this.capacity - 1;
    for (let s = 0; s < old.length; s += STRIDE) {
      if (old[s] !== generation) continue;
      let slot = old[s + 1] & mask;
      while (this.scratch[slot * STRIDE] === generation) slot = (slot + 1) & mask;
      const t = slot * STRIDE;
      this.scratch[t] = generation;
      this.scratch[t + 1] = old[s + 1];
      this.scratch[t + 2] = old[s + 2];
    }
  }

  private same(earlier: number, b: number, bytes: Uint8Array, start: number, end: number): boolean {
    if (this.hash2 !== null) return this.hash2[earlier] === b;
    const length = end - start;
    if (this.fd === null) this.fd = openSync(this.confirmPath as string, "r");
    if (this.buffer.length < length) this.buffer = Buffer.alloc(Math.max(length, 256));
    const n = readSync(this.fd, this.buffer, 0, length, this.offsets[earlier]);
    if (n !== length) return false;
    for (let i = 0; i < length; i++) if (this.buffer[i] !== bytes[start + i]) return false;
    return true;
  }

  private growLines(lineNo: number): void {
    let size = this.lengths.length;
    while (size <= lineNo) size *= 2;
    const offsets = new Float64Array(size);
    offsets.set(this.offsets);
    this.offsets = offsets;
    const lengths = new Int32Array(size);
    lengths.set(this.lengths);
    this.lengths = lengths;
    if (this.hash2 !== null) {
      const hash2 = new Int32Array(size);
      hash2.set(this.hash2);
      this.hash2 = hash2;
    }
  }
}
