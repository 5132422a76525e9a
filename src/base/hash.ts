// String hashing shared by the stages: 32-bit FNV-1a over UTF-16 code units. The same function places users
// in A/B buckets (GrowthBook's hash, src/serve/bucketing.ts), indexes the count-min sketch of the device
// cache and derives independent random streams of the generator from one seed.

/** FNV-1a 32-bit of a string's UTF-16 code units (what GrowthBook's JS SDK hashes). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
