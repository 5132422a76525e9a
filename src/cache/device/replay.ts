// Replays each user's listens in time order through that user's bounded on-device cache. A hit plays from the cache; a miss
// either downloads the whole track into the cache (when admitted) or streams what is heard. A cached copy's
// bytes count as wasted when they are never heard while the copy is resident (copies still resident at
// the end of the replay are judged by what was heard so far).
import { heardOf } from "../prefetch.ts";
import type { CacheListen, DeviceResult, EvictionPolicyName } from "../types.ts";
import { LruCache } from "./lru.ts";
import { S3FifoCache } from "./s3fifo.ts";
import type { DeviceCache, EvictionListener } from "./types.ts";
import { WTinyLfuCache } from "./wtinylfu.ts";

export function createDeviceCache(
  policy: EvictionPolicyName,
  capacityBytes: number,
  onEvict: EvictionListener,
  expectedEntries?: number,
): DeviceCache {
  switch (policy) {
    case "lru":
      return new LruCache(capacityBytes, onEvict);
    case "s3fifo":
      return new S3FifoCache(capacityBytes, onEvict);
    case "wtinylfu":
      return new WTinyLfuCache(capacityBytes, onEvict, { expectedEntries });
    default:
      throw new RangeError(`unknown eviction policy "${policy as string}" (lru, s3fifo, wtinylfu)`);
  }
}

/** Indices of the listens in start-time order (stable for equal times). */
export function timeOrder(listens: readonly CacheListen[]): Int32Array {
  const order = Int32Array.from(listens.keys());
  return order.sort((a, b) => listens[a].startMs - listens[b].startMs || a - b);
}

export interface DeviceReplayOptions {
  policy: EvictionPolicyName;
  capacityBytes: number;
  bitrateBytesPerSecond: number;
  /** 1 where a miss may be downloaded into the cache; absent = admit every miss. */
  admit?: Uint8Array;
  admissionName?: string;
  order?: Int32Array;
}

/** Listen indices per user, each in start-time order. */
function byUser(listens: readonly CacheListen[], order: Int32Array): Int32Array[] {
  const groups = new Map<number, number[]>();
  for (const i of order) {
    const group = groups.get(listens[i].userId);
    if (group) group.push(i);
    else groups.set(listens[i].userId, [i]);
  }
  return [...groups.values()].map((g) => Int32Array.from(g));
}

/** Each user's device has its own cache of `capacityBytes`; figures are summed over users. */
export function replayDevice(listens: readonly CacheListen[], options: DeviceReplayOptions): DeviceResult {
  const { admit } = options;
  if (admit && admit.length !== listens.length) {
    throw new RangeError(`admission mask has ${admit.length} entries for ${listens.length} listens`);
  }
  const toBytes = options.bitrateBytesPerSecond / 1000;
  let totalSize = 0;
  for (const l of listens) totalSize += l.durationMs * toBytes;
  const expectedEntries = Math.max(
    16,
    options.capacityBytes / Math.max(listens.length > 0 ? totalSize / listens.length : 1, 1),
  );
  let hits = 0;
  let heardTotal = 0;
  let heardFromCache = 0;
  let admitted = 0;
  let streamed = 0;
  let wasted = 0;
  let evictions = 0;
  for (const userListens of byUser(listens, options.order ?? timeOrder(listens))) {
    // Resident copies on this device: size and the most of them heard while resident.
    const resident = new Map<string, { size: number; heard: number }>();
    const onEvict = (key: string) => {
      const copy = resident.get(key);
      if (!copy) return;
      wasted += copy.size - copy.heard;
      evictions++;
      resident.delete(key);
    };
    const cache = createDeviceCache(options.policy, options.capacityBytes, onEvict, expectedEntries);
    for (const i of userListens) {
      const listen = listens[i];
      const size = listen.durationMs * toBytes;
      const heard = heardOf(listen) * toBytes;
      heardTotal += heard;
      if (cache.access(listen.trackId)) {
        hits++;
        heardFromCache += heard;
        const copy = resident.get(listen.trackId);
        if (copy) copy.heard = Math.max(copy.heard, heard);
        continue;
      }
      if ((!admit || admit[i]) && cache.insert(listen.trackId, size)) {
        admitted += size;
        resident.set(listen.trackId, { size, heard });
      } else {
        streamed += heard;
      }
    }
    for (const copy of resident.values()) wasted += copy.size - copy.heard;
  }
  return {
    policy: options.policy,
    admission: options.admissionName ?? (admit ? "custom" : "all"),
    capacityBytes: options.capacityBytes,
    requests: listens.length,
    hits,
    hitRatio: listens.length > 0 ? hits / listens.length : Number.NaN,
    byteHitRatio: heardTotal > 0 ? heardFromCache / heardTotal : Number.NaN,
    downloadedBytes: admitted + streamed,
    admittedBytes: admitted,
    streamedBytes: streamed,
    wastedBytes: wasted,
    evictions,
  };
}
