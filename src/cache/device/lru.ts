// Least-recently-used cache by bytes. A Map keeps insertion order, so delete + set moves a key to the MRU end.
import { type DeviceCache, type EvictionListener, ignoreEviction } from "./types.ts";

export class LruCache implements DeviceCache {
  private readonly entries = new Map<string, number>();
  private usedBytes = 0;

  constructor(
    readonly capacity: number,
    private readonly onEvict: EvictionListener = ignoreEviction,
  ) {}

  get used(): number {
    return this.usedBytes;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  access(key: string): boolean {
    const size = this.entries.get(key);
    if (size === undefined) return false;
    this.entries.delete(key);
    this.entries.set(key, size);
    return true;
  }

  insert(key: string, size: number): boolean {
    if (this.entries.has(key)) return true;
    if (size > this.capacity) return false;
    while (this.usedBytes + size > this.capacity) {
      const [oldest, oldestSize] = this.entries.entries().next().value as [string, number];
      this.entries.delete(oldest);
      this.usedBytes -= oldestSize;
      this.onEvict(oldest);
    }
    this.entries.set(key, size);
    this.usedBytes += size;
    return true;
  }
}
