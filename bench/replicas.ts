// One replica on Redis (online state) + PostgreSQL (decision log) against the embedded default (state in the
// process, SQLite log), side by side in one run: req/s and p99 of /recommend and /abtest, and what each
// request costs the shared servers (Redis commands and Lua-internal calls, PostgreSQL commits).
//   node --import tsx bench/replicas.ts [--bundle <dir> --data <delivery>] [--duration 10] [--runs 3]
//        [--connections 32] [--json bench/replicas.json]
// Without --bundle it trains one on ../shared/data/pozytywka/2023L-v2. Redis (AOF, fsync every second) and
// PostgreSQL (synchronous_commit on) are started in temp folders on free ports (test/scale/servers.ts), as
// the tests do. The configurations alternate within each run, so both see the same machine.
// --pin: the replica runs on CPU 0 alone, this process (autocannon), Redis and PostgreSQL on CPU 1: "per
// replica" then means one core per replica in both configurations, the shared servers being elsewhere, as
// they would be in a deployment (on a 2-core machine they otherwise take CPU from the replica they serve).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import pg from "pg";
import { startPostgres, startRedis } from "../test/scale/servers.ts";
import { driveRoute, median, latencyMs as ms, requestBodies, round, startServer } from "./serve-process.ts";

const REAL_DELIVERY = resolve(import.meta.dirname, "../../shared/data/pozytywka/2023L-v2");
const BIN = resolve(import.meta.dirname, "../bin/skipwise.js");
const ROUTES = ["/recommend", "/abtest"] as const;

const { values: args } = parseArgs({
  options: {
    bundle: { type: "string" },
    data: { type: "string" },
    duration: { type: "string", default: "10" },
    runs: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
    warmup: { type: "string", default: "3" },
    json: { type: "string" },
    pin: { type: "boolean", default: false },
  },
});
const duration = Number(args.duration);
const runs = Number(args.runs);
const connections = Number(args.connections);
const warmup = Number(args.warmup);

interface RouteRun {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
  /** Per request, on the shared servers (0 for the embedded default). */
  redisCommands: number;
  redisLuaCalls: number;
  pgCommits: number;
}

/** Redis command counts by name (INFO commandstats). */
async function redisCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info("commandstats");
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/cmdstat_(\S+?):calls=(\d+)/g)) calls.set(match[1], Number(match[2]));
  return calls;
}

async function pgCommits(client: pg.Client): Promise<number> {
  const r = await client.query("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");
  return Number(r.rows[0].xact_commit);
}

const drive = (url: string, route: string, seconds: number, payloads: string[]) =>
  driveRoute(url, route, seconds, payloads, connections);

async function main(): Promise<void> {
  // Every thread of this process, and so every child started from now on, on CPU 1.
  if (args.pin) execFileSync("taskset", ["-a", "-pc", "1", String(process.pid)], { stdio: "ignore" });
  const work = mkdtempSync(join(tmpdir(), "skipwise-bench-replicas-"));
  const redis = await startRedis({ appendonly: true });
  const postgres = await startPostgres();
  try {
    await measure(work, redis.url, postgres.url);
  } finally {
    await redis.stop();
    await postgres.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

async function measure(work: string, redisUrl: string, pgUrl: string): Promise<void> {
  const data = args.data ? resolve(args.data) : REAL_DELIVERY;
  let bundle = args.bundle ? resolve(args.bundle) : "";
  if (!bundle) {
    bundle = join(work, "bundle");
    execFileSync(process.execPath, [BIN, "train", "--data", data, "--out", bundle], { stdio: "ignore" });
  }
  execFileSync(
    process.execPath,
    [BIN, "state", "load", "--bundle", bundle, "--data", data, "--redis", redisUrl],
    {
      stdio: "ignore",
    },
  );
  const payloads = await requestBodies(data);
  const admin = new Redis(redisUrl);
  const pgClient = new pg.Client({ connectionString: pgUrl });
  await pgClient.connect();
  const memoryBefore = Number(/used_memory:(\d+)/.exec(await admin.info("memory"))?.[1]);
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, node ${process.version}; ${runs} runs × ${duration} s per route and configuration, ${connections} connections, ${warmup} s warm-up${args.pin ? ", replica pinned to CPU 0, the rest to CPU 1" : ""}; Redis holds ${round(memoryBefore / 1e6, 1)} MB after state load`,
  );
  const configs = [
    { name: "embedded (in-process state + SQLite)", extra: [] as string[] },
    { name: "shared (Redis + PostgreSQL)", extra: ["--redis", redisUrl] },
  ];
  const results: Record<string, Record<string, RouteRun[]>> = {};
  for (const c of configs) results[c.name] = { "/recommend": [], "/abtest": [] };
  for (let run = 0; run < runs; run++) {
    for (const [k, config] of configs.entries()) {
      const db = k === 0 ? join(work, `decisions-${run}.db`) : pgUrl;
      const { child, url } = await startServer(bundle, data, db, config.extra, args.pin ? 0 : undefined);
      try {
        for (const route of ROUTES) await drive(url, route, warmup, payloads);
        for (const route of ROUTES) {
          const redisBefore = await redisCalls(admin);
          const commitsBefore = await pgCommits(pgClient);
          const r = await drive(url, route, duration, payloads);
          const redisAfter = await redisCalls(admin);
          const commits = (await pgCommits(pgClient)) - commitsBefore;
          const delta = (name: string) => (redisAfter.get(name) ?? 0) - (redisBefore.get(name) ?? 0);
          let all = 0;
          for (const name of redisAfter.keys()) all += delta(name);
          const scripts = delta("fcall") + delta("evalsha") + delta("eval");
          const total = r.requests.total;
          // The INFO calls of this bench are counted too: a handful against 10^5 requests.
          const row: RouteRun = {
            rps: r.requests.average,
            p50: r.latency.p50,
            p99: r.latency.p99,
            errors: r.errors + r.timeouts + r.non2xx,
            requests: total,
            redisCommands: k === 0 ? 0 : scripts / total,
            redisLuaCalls: k === 0 ? 0 : (all - scripts) / total,
            pgCommits: k === 0 ? 0 : commits / total,
          };
          results[config.name][route].push(row);
          console.log(
            `run ${run + 1} ${config.name.padEnd(38)} ${route.padEnd(10)} ${round(row.rps).toLocaleString("en-US").padStart(7)} req/s  p50 ${ms(row.p50)} ms  p99 ${ms(row.p99)} ms  errors ${row.errors}` +
              (k === 0
                ? ""
                : `  Redis scripts/request ${round(row.redisCommands, 2)}, Lua calls/request ${round(row.redisLuaCalls, 1)}, PostgreSQL commits/request ${round(row.pgCommits, 3)} (${round(commits / duration).toLocaleString("en-US")} commits/s)`),
          );
        }
      } finally {
        const exited = new Promise((done) => child.once("exit", done));
        child.kill("SIGTERM");
        await exited;
      }
    }
  }
  const memoryAfter = Number(/used_memory:(\d+)/.exec(await admin.info("memory"))?.[1]);
  admin.disconnect();
  await pgClient.end();
  const summary: Record<string, Record<string, Record<string, number>>> = {};
  console.log(
    "\nconfiguration                           route       req/s (median, min–max)   p99 ms   vs embedded",
  );
  for (const route of ROUTES) {
    const base = median(results[configs[0].name][route].map((r) => r.rps));
    for (const config of configs) {
      const rs = results[config.name][route];
      const rps = rs.map((r) => r.rps);
      const line = {
        rps: round(median(rps)),
        rpsMin: round(Math.min(...rps)),
        rpsMax: round(Math.max(...rps)),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        errors: rs.reduce((sum, r) => sum + r.errors, 0),
        ratio: round(median(rps) / base, 3),
        redisScriptsPerRequest: round(median(rs.map((r) => r.redisCommands)), 3),
        redisLuaCallsPerRequest: round(median(rs.map((r) => r.redisLuaCalls)), 2),
        pgCommitsPerRequest: round(median(rs.map((r) => r.pgCommits)), 4),
      };
      summary[config.name] ??= {};
      summary[config.name][route] = line;
      const fmt = (x: number) => x.toLocaleString("en-US");
      console.log(
        `${`${config.name.padEnd(40)}${route.padEnd(11)} ${fmt(line.rps).padStart(7)} (${fmt(line.rpsMin)}–${fmt(line.rpsMax)})`.padEnd(
          80,
        )}${ms(line.p99).padStart(6)}   ${line.ratio.toFixed(2)}×`,
      );
    }
  }
  console.log(
    `Redis used_memory: ${round(memoryBefore / 1e6, 1)} MB after state load, ${round(memoryAfter / 1e6, 1)} MB at the end`,
  );
  if (args.json) {
    writeFileSync(
      args.json,
      `${JSON.stringify({ duration, runs, connections, pinned: args.pin, configs: summary, redisMemoryBytes: { afterLoad: memoryBefore, atEnd: memoryAfter } }, null, 2)}\n`,
    );
  }
}

await main();
