// What the Redis feature store costs Redis, for the capacity model (docs/capacity.md):
//   node --import tsx bench/redis-costs.ts --bundle <dir> --data <delivery> [--state-bundle <dir> --state-data <dir>]
// 1. Replays the bundle's test period (`skipwise parity`: each play's prediction, then the delivery's events)
//    against one replica serving from Redis, and reads INFO commandstats / stats: Redis CPU per vector read
//    and per event, commands, bytes in and out.
// 2. 20,000 vector reads alone (no session: nothing learned), Redis CPU per read.
// 3. Loads --state-bundle's snapshot (default: the same bundle) into an empty Redis and reads used_memory:
//    bytes per user, per pair, per session of a real-size state.
// Redis runs in a temp folder on a free port (test/scale/servers.ts), AOF off: this measures the store.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { loadDelivery } from "../src/data/index.ts";
import { FEATURE_COUNT } from "../src/features/index.ts";
import { RedisFeatureStore } from "../src/features/redis-store.ts";
import { startRedis } from "../test/scale/servers.ts";
import { startServer } from "./serve-process.ts";

const BIN = resolve(import.meta.dirname, "../bin/skipwise.js");
const { values: args } = parseArgs({
  options: {
    bundle: { type: "string" },
    data: { type: "string" },
    "state-bundle": { type: "string" },
    "state-data": { type: "string" },
  },
});
if (!args.bundle || !args.data) throw new Error("--bundle <dir> --data <delivery> are required");
const bundle = resolve(args.bundle);
const data = resolve(args.data);

function stats(info: string, name: string): number {
  return Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? Number.NaN);
}

function commandStats(info: string): Map<string, { calls: number; usec: number }> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const m of info.matchAll(/cmdstat_(\S+?):calls=(\d+),usec=(\d+)/g))
    out.set(m[1], { calls: Number(m[2]), usec: Number(m[3]) });
  return out;
}

const work = mkdtempSync(join(tmpdir(), "skipwise-redis-costs-"));
const redis = await startRedis();
const admin = new Redis(redis.url);
try {
  const load = (b: string, d: string) =>
    execFileSync(
      process.execPath,
      [BIN, "state", "load", "--bundle", b, "--data", d, "--redis", redis.url, "--replace"],
      {
        stdio: "ignore",
      },
    );
  load(bundle, data);
  const { child, url } = await startServer(bundle, data, join(work, "decisions.db"), ["--redis", redis.url]);
  try {
    await admin.config("RESETSTAT");
    const out = execFileSync(
      process.execPath,
      [BIN, "parity", "--url", url, "--data", data, "--bundle", bundle, "--models", "gbdt"],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    );
    const listens = Number(/([\d,]+) listens compared/.exec(out)?.[1].replaceAll(",", ""));
    const events = Number(/\(([\d,]+) events replayed/.exec(out)?.[1].replaceAll(",", ""));
    const cmd = commandStats(await admin.info("commandstats"));
    const net = await admin.info("stats");
    const fcall = cmd.get("fcall") ?? { calls: 0, usec: 0 };
    let inner = 0;
    for (const [name, c] of cmd)
      if (name !== "fcall" && name !== "config" && name !== "info") inner += c.calls;
    console.log(out.split("\n")[0]);
    console.log(
      `replay: ${listens} predictions + ${events} events = ${fcall.calls} function calls (${(fcall.usec / fcall.calls).toFixed(1)} µs each on average), ${(fcall.usec / 1000).toFixed(0)} ms of Redis, ${(fcall.usec / listens).toFixed(0)} µs per listen (its prediction and its events); ${(inner / fcall.calls).toFixed(1)} Redis commands inside each call`,
    );
    console.log(
      `bytes: ${(stats(net, "total_net_input_bytes") / fcall.calls).toFixed(0)} in and ${(stats(net, "total_net_output_bytes") / fcall.calls).toFixed(0)} out per call`,
    );
  } finally {
    const gone = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    await gone;
  }
  // Vector reads alone: 20,000 queries without a session (nothing is learned, no listen is closed).
  {
    const { catalog } = await loadDelivery(data);
    const store = await RedisFeatureStore.open(redis.url, catalog);
    const out = new Float32Array(FEATURE_COUNT * 100);
    const users = [...catalog.users.keys()];
    await admin.config("RESETSTAT");
    let t = Date.now();
    for (let i = 0; i < 200; i++) {
      const queries = Array.from({ length: 100 }, (_, k) => ({
        userId: users[k % users.length],
        trackIndex: (i * 100 + k) % catalog.tracks.length,
        timestampMs: t++,
      }));
      await store.vectors(queries, out);
    }
    await store.close();
    const fcall = commandStats(await admin.info("commandstats")).get("fcall") ?? { calls: 0, usec: 0 };
    console.log(
      `vector reads alone: ${fcall.calls} calls, ${(fcall.usec / fcall.calls).toFixed(1)} µs of Redis each`,
    );
  }
  const stateBundle = resolve(args["state-bundle"] ?? bundle);
  const stateData = resolve(args["state-data"] ?? data);
  await admin.flushall();
  const empty = stats(await admin.info("memory"), "used_memory");
  const t = performance.now();
  const line = execFileSync(
    process.execPath,
    [BIN, "state", "load", "--bundle", stateBundle, "--data", stateData, "--redis", redis.url],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  const seconds = (performance.now() - t) / 1000;
  const memory = stats(await admin.info("memory"), "used_memory") - empty;
  const users = Number(/([\d,]+) users/.exec(line)?.[1].replaceAll(",", ""));
  const keys = await admin.dbsize();
  console.log(line.trim());
  console.log(
    `state of ${stateBundle}: ${(memory / 1e6).toFixed(0)} MB in Redis (used_memory), ${keys.toLocaleString("en-US")} keys, ${(memory / users / 1024).toFixed(1)} KiB per user, ${(memory / keys).toFixed(0)} bytes per key; loaded in ${seconds.toFixed(1)} s`,
  );
  console.log(
    `BENCH_JSON ${JSON.stringify({ bench: "redis-costs", stateMemoryBytes: memory, stateKeys: keys, stateUsers: users, loadSeconds: seconds })}`,
  );
} finally {
  admin.disconnect();
  await redis.stop();
  rmSync(work, { recursive: true, force: true });
}
