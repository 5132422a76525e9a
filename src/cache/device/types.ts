/** A bounded whole-object cache measured in bytes. */
export interface DeviceCache {
  readonly capacity: number;
  /** Bytes currently resident. */
  readonly used: number;
  /** Looks a key up for a request, updating recency / frequency state; true on a hit. */
  access(key: string): boolean;
  /** Offers a key that missed; returns whether it is resident afterwards. Evicted keys go to the onEvict callback. */
  insert(key: string, size: number): boolean;
  has(key: string): boolean;
}

export type EvictionListener = (key: string) => void;

export const ignoreEviction: EvictionListener = () => {};
