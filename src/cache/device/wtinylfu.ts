// W-TinyLFU (Einziger, Friedman & Manes 2017; Caffeine) by bytes: a small LRU window admits every new key;
// when the window overflows its LRU candidate must beat the main cache's eviction victim on estimated
// frequency (count-min sketch) to enter the segmented-LRU main cache (probation 20 %, protected 80 %).
import { CountMinSketch } from "./count-min.ts";
import { type DeviceCache, type EvictionListener, ignoreEviction } from "./types.ts";

export interface WTinyLfuOptions {
  /** Share of the capacity given to the window; default 0.01. */
  windowShare?: number;
  /** Share of the main cache given to the protected segment; default 0.8. */
  protectedShare?: number;
  /** Expected number of resident entries, sizing the sketch; default capacity / 4 MB. */
  expectedEntries?: number;
}

function moveToEnd(map: Map<string, number>, key: string, size: number): void {
  map.delete(key);
  map.set(key, size);
}

function oldest(map: Map<string, number>): [string, number] | undefined {
  return map.entries().next().value as [string, number] | undefined;
}

export class WTinyLfuCache implements DeviceCache {
  private readonly window = new Map<string, number>();
  private readonly probation = new Map<string, number>();
  private readonly protectedSegment = new Map<string, number>();
  private windowUsed = 0;
  private probationUsed = 0;
  private protectedUsed = 0;
  readonly windowCapacity: number;
  readonly mainCapacity: number;
  readonly protectedCapacity: number;
  readonly sketch: CountMinSketch;

  constructor(
    readonly capacity: number,
    private readonly onEvict: EvictionListener = ignoreEviction,
    options: WTinyLfuOptions = {},
  ) {
    this.windowCapacity = Math.floor(capacity * (options.windowShare ?? 0.01));
    this.mainCapacity = capacity - this.windowCapacity;
    this.protectedCapacity = Math.floor(this.mainCapacity * (options.protectedShare ?? 0.8));
    this.sketch = new CountMinSketch(options.expectedEntries ?? capacity / 4_000_000);
  }

  get used(): number {
    return this.windowUsed + this.probationUsed + this.protectedUsed;
  }

  has(key: string): boolean {
    return this.window.has(key) || this.probation.has(key) || this.protectedSegment.has(key);
  }

  /** For tests: which segment holds the key. */
  where(key: string): "window" | "probation" | "protected" | undefined {
    if (this.window.has(key)) return "window";
    if (this.probation.has(key)) return "probation";
    return this.protectedSegment.has(key) ? "protected" : undefined;
  }

  access(key: string): boolean {
    this.sketch.increment(key);
    const inWindow = this.window.get(key);
    if (inWindow !== undefined) {
      moveToEnd(this.window, key, inWindow);
      return true;
    }
    const inProtected = this.protectedSegment.get(key);
    if (inProtected !== undefined) {
      moveToEnd(this.protectedSegment, key, inProtected);
      return true;
    }
    const inProbation = this.probation.get(key);
    if (inProbation === undefined) return false;
    this.probation.delete(key);
    this.probationUsed -= inProbation;
    this.protectedSegment.set(key, inProbation);
    this.protectedUsed += inProbation;
    while (this.protectedUsed > this.protectedCapacity && this.protectedSegment.size > 1) {
      const [demoted, size] = oldest(this.protectedSegment) as [string, number];
      this.protectedSegment.delete(demoted);
      this.protectedUsed -= size;
      this.probation.set(demoted, size);
      this.probationUsed += size;
    }
    return true;
  }

  insert(key: string, size: number): boolean {
    if (this.has(key)) return true;
    if (size > this.capacity) return false;
    this.window.set(key, size);
    this.windowUsed += size;
    while (this.windowUsed > this.windowCapacity) {
      const [candidate, candidateSize] = oldest(this.window) as [string, number];
      this.window.delete(candidate);
      this.windowUsed -= candidateSize;
      this.admitToMain(candidate, candidateSize);
    }
    return this.has(key);
  }

  private admitToMain(candidate: string, size: number): void {
    if (size > this.mainCapacity) {
      this.onEvict(candidate);
      return;
    }
    const candidateFrequency = this.sketch.estimate(candidate);
    while (this.probationUsed + this.protectedUsed + size > this.mainCapacity) {
      const fromProbation = this.probation.size > 0;
      const [victim, victimSize] = oldest(fromProbation ? this.probation : this.protectedSegment) as [
        string,
        number,
      ];
      if (candidateFrequency <= this.sketch.estimate(victim)) {
        this.onEvict(candidate);
        return;
      }
      if (fromProbation) {
        this.probation.delete(victim);
        this.probationUsed -= victimSize;
      } else {
        this.protectedSegment.delete(victim);
        this.protectedUsed -= victimSize;
      }
      this.onEvict(victim);
    }
    this.probation.set(candidate, size);
    this.probationUsed += size;
  }
}
