// `skipwise state load` / `state export`: a bundle's feature-state snapshot materialised into the Redis that
// replicas share (`serve --redis`), and the state learned there written back as a snapshot file.
import { writeFileAtomic } from "../base/atomic-write.ts";
import { redactedUrl } from "../base/format.ts";
import { stageProgress } from "../base/progress.ts";
import { loadCatalog } from "../data/index.ts";
import { FEATURE_SCHEMA } from "../features/index.ts";
import { exportSnapshotFromRedis, loadSnapshotIntoRedis } from "../features/redis-snapshot.ts";
import { connectRedis, DEFAULT_REDIS_PREFIX } from "../features/redis-store.ts";
import { loadBundle } from "../models/bundle.ts";
import { stateOriginOf } from "./bundle-scorer.ts";

export interface StateLoadOptions {
  bundle: string;
  data: string;
  /** Default: $SKIPWISE_REDIS. */
  redis?: string;
  prefix?: string;
  replace?: boolean;
}

/** `--redis`, else $SKIPWISE_REDIS (where a password stays out of `ps`). */
function redisUrl(flag: string | undefined): string {
  const url = flag ?? process.env.SKIPWISE_REDIS;
  if (!url) throw new Error("state: pass --redis redis://host:port (or set SKIPWISE_REDIS)");
  return url;
}

export async function runStateLoadCommand(options: StateLoadOptions): Promise<void> {
  const url = redisUrl(options.redis);
  const bundle = loadBundle(options.bundle, { expectedSchema: FEATURE_SCHEMA });
  const catalog = await loadCatalog(options.data);
  const redis = connectRedis(url);
  const progress = stageProgress(process.stderr, { unit: " writes" });
  try {
    await redis.connect();
    const origin = stateOriginOf(bundle.manifest);
    const loaded = await loadSnapshotIntoRedis(redis, catalog, bundle.featureState, {
      origin,
      prefix: options.prefix ?? DEFAULT_REDIS_PREFIX,
      replace: options.replace === true,
      onProgress: (done, total) => progress.update("state load", done, total),
    });
    progress.stop();
    process.stdout.write(
      `skipwise state load: bundle ${bundle.version} (snapshot ${origin}) into ${redactedUrl(url)}: ${loaded.users.toLocaleString("en-US")} users, ${loaded.pairs.toLocaleString("en-US")} pairs, ${loaded.sessions.toLocaleString("en-US")} sessions, ${loaded.keys.toLocaleString("en-US")} hashes\n`,
    );
  } finally {
    progress.stop();
    redis.disconnect();
  }
}

export interface StateExportOptions {
  data: string;
  /** Default: $SKIPWISE_REDIS. */
  redis?: string;
  out: string;
  prefix?: string;
}

export async function runStateExportCommand(options: StateExportOptions): Promise<void> {
  const url = redisUrl(options.redis);
  const catalog = await loadCatalog(options.data);
  const redis = connectRedis(url);
  try {
    await redis.connect();
    const { snapshot, meta } = await exportSnapshotFromRedis(
      redis,
      catalog,
      options.prefix ?? DEFAULT_REDIS_PREFIX,
    );
    await writeFileAtomic(options.out, snapshot);
    process.stdout.write(
      `skipwise state export: the state in ${redactedUrl(url)} (loaded from snapshot ${meta.origin}) written to ${options.out} (${snapshot.length.toLocaleString("en-US")} bytes)\n`,
    );
  } finally {
    redis.disconnect();
  }
}
