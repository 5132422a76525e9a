// Word-at-a-time hashing of byte ranges (4 bytes per multiply): the duplicate-line check hashes every byte of
// a 600 MB sessions file, so the byte-per-step FNV loop was the loader's largest cost.

/** Reads 4 bytes little-endian as an int32. */
function word(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
}

/** murmur3 finaliser: spreads every input bit over the whole word. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** 32-bit hash of bytes[start, end) with the given seed. */
export function hashBytes(b: Uint8Array, start: number, end: number, seed: number): number {
  let h = seed ^ (end - start);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    h = Math.imul(h ^ word(b, i), 0x9e3779b1);
    h ^= h >>> 15;
  }
  let tail = 0;
  for (let shift = 0; i < end; i++, shift += 8) tail |= b[i] << shift;
  h = Math.imul(h ^ tail, 0x9e3779b1);
  return mix32(h);
}

/** Second, independent 32-bit hash (different multiplier chain), for 64-bit line fingerprints. */
export function hashBytes2(b: Uint8Array, start: number, end: number, seed: number): number {
  let h = seed + (end - start);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    h = Math.imul(h + word(b, i), 0x27d4eb2f);
    h = (h << 13) | (h >>> 19);
  }
  let tail = 0;
  for (let shift = 0; i < end; i++, shift += 8) tail |= b[i] << shift;
  h = Math.imul(h + tail, 0x27d4eb2f);
  return mix32(h);
}
