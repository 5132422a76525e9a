// S3-FIFO (Yang et al., SOSP 2023) by bytes: a small FIFO (10 %) filters one-hit wonders, a main FIFO with
// 2-bit frequency counters gives reinsertion ("second chance"), and a ghost FIFO of recently filtered keys
// sends a returning key straight to main. A scan of new keys only cycles through the small queue.
import { type DeviceCache, type EvictionListener, ignoreEviction } from "./types.ts";

interface Entry {
  size: number;
  freq: number;
}

const MAX_FREQUENCY = 3;

export interface S3FifoOptions {
  /** Share of the capacity given to the small queue; default 0.1. */
  smallShare?: number;
  /** Accesses while in the small queue needed to move to main instead of the ghost; default 1. */
  moveToMainThreshold?: number;
}

export class S3FifoCache implements DeviceCache {
  private readonly small = new Map<string, Entry>();
  private readonly main = new Map<string, Entry>();
  /** Keys (with sizes) recently evicted from the small queue, bounded by the main queue's bytes. */
  private readonly ghost = new Map<string, number>();
  private smallUsed = 0;
  private mainUsed = 0;
  private ghostUsed = 0;
  readonly smallCapacity: number;
  readonly mainCapacity: number;
  private readonly moveToMainThreshold: number;

  constructor(
    readonly capacity: number,
    private readonly onEvict: EvictionListener = ignoreEviction,
    options: S3FifoOptions = {},
  ) {
    this.smallCapacity = Math.floor(capacity * (options.smallShare ?? 0.1));
    this.mainCapacity = capacity - this.smallCapacity;
    this.moveToMainThreshold = options.moveToMainThreshold ?? 1;
  }

  get used(): number {
    return this.smallUsed + this.mainUsed;
  }

  has(key: string): boolean {
    return this.small.has(key) || this.main.has(key);
  }

  /** For tests: which queue holds the key. */
  where(key: string): "small" | "main" | "ghost" | undefined {
    if (this.small.has(key)) return "small";
    if (this.main.has(key)) return "main";
    return this.ghost.has(key) ? "ghost" : undefined;
  }

  access(key: string): boolean {
    const entry = this.small.get(key) ?? this.main.get(key);
    if (!entry) return false;
    entry.freq = Math.min(entry.freq + 1, MAX_FREQUENCY);
    return true;
  }

  insert(key: string, size: number): boolean {
    if (this.has(key)) return true;
    if (size > this.capacity) return false;
    const ghostSize = this.ghost.get(key);
    if (ghostSize !== undefined) {
      this.ghost.delete(key);
      this.ghostUsed -= ghostSize;
      return this.insertMain(key, { size, freq: 0 });
    }
    // An object larger than the small queue still enters it (alone), so the one-hit-wonder filter holds
    // for caches of only a few tracks; main then shrinks to keep the total within capacity.
    while (this.small.size > 0 && this.smallUsed + size > this.smallCapacity) this.evictSmall();
    this.small.set(key, { size, freq: 0 });
    this.smallUsed += size;
    while (this.used > this.capacity && this.main.size > 0) this.evictMain();
    return true;
  }

  private insertMain(key: string, entry: Entry): boolean {
    if (entry.size > this.mainCapacity) {
      this.onEvict(key);
      return false;
    }
    // An oversized object in the small queue borrows from main's share.
    const budget = Math.min(this.mainCapacity, this.capacity - this.smallUsed);
    while (this.main.size > 0 && this.mainUsed + entry.size > budget) this.evictMain();
    if (this.mainUsed + entry.size > budget) {
      this.onEvict(key);
      return false;
    }
    this.main.set(key, entry);
    this.mainUsed += entry.size;
    return true;
  }

  private evictSmall(): void {
    const [key, entry] = this.small.entries().next().value as [string, Entry];
    this.small.delete(key);
    this.smallUsed -= entry.size;
    if (entry.freq >= this.moveToMainThreshold) {
      this.insertMain(key, entry);
      return;
    }
    this.ghost.set(key, entry.size);
    this.ghostUsed += entry.size;
    while (this.ghostUsed > this.mainCapacity) {
      const [oldest, oldestSize] = this.ghost.entries().next().value as [string, number];
      this.ghost.delete(oldest);
      this.ghostUsed -= oldestSize;
    }
    this.onEvict(key);
  }

  private evictMain(): void {
    for (;;) {
      const [key, entry] = this.main.entries().next().value as [string, Entry];
      this.main.delete(key);
      if (entry.freq > 0) {
        entry.freq--;
        this.main.set(key, entry);
        continue;
      }
      this.mainUsed -= entry.size;
      this.onEvict(key);
      return;
    }
  }
}
