// Throughput and latency of `skipwise serve` on loopback, the server in a separate process.
//   node --import tsx bench/serve.ts [--bundle <dir> --data <delivery>] [--duration 10] [--runs 3]
//        [--connections 10] [--json <file>]
// Without --bundle it trains one with `skipwise train` on ../shared/data/pozytywka/2023L-v2 (the served
// default model is the one with the best validation AUC; /abtest splits naive vs that model).
// Each run starts a fresh server and decision log, warms up, then drives /recommend and /abtest with
// autocannon for --duration seconds each while sampling the server's RSS from /proc/<pid>/status.
// Prints per route the median of the runs (min–max) of req/s, p50, p99, errors, and the RSS drift.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { driveRoute, median, latencyMs as ms, requestBodies, round, startServer } from "./serve-process.ts";

const REAL_DELIVERY = resolve(import.meta.dirname, "../../shared/data/pozytywka/2023L-v2");

const { values: args } = parseArgs({
  options: {
    bundle: { type: "string" },
    data: { type: "string" },
    duration: { type: "string", default: "10" },
    runs: { type: "string", default: "3" },
    connections: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    json: { type: "string" },
  },
});
const duration = Number(args.duration);
const runs = Number(args.runs);
const connections = Number(args.connections);
const warmup = Number(args.warmup);
const BIN = resolve(import.meta.dirname, "../bin/skipwise.js");
const ROUTES = ["/recommend", "/abtest"] as const;

interface RouteRun {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
}

interface RssTrace {
  run: number;
  route: string;
  /** Mean RSS over the first and over the second half of the 1 s samples: the trend, averaged over GC cycles. */
  startMb: number;
  endMb: number;
  maxMb: number;
  minMb: number;
  samples: number;
}

/** autocannon reports whole milliseconds: 0 means under 1 ms. */
const mean = (xs: number[]) => xs.reduce((sum, x) => sum + x, 0) / xs.length;

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

async function drive(url: string, route: string, seconds: number, payloads: string[]): Promise<RouteRun> {
  const result = await driveRoute(url, route, seconds, payloads, connections);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    requests: result.requests.total,
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "skipwise-bench-serve-"));
  try {
    await measure(work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function measure(work: string): Promise<void> {
  const data = args.data ? resolve(args.data) : REAL_DELIVERY;
  let bundle = args.bundle ? resolve(args.bundle) : "";
  if (!bundle) {
    bundle = join(work, "bundle");
    const t = performance.now();
    execFileSync(process.execPath, [BIN, "train", "--data", data, "--out", bundle], { stdio: "ignore" });
    console.log(
      `trained a bundle with skipwise train on ${data} in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  }
  const payloads = await requestBodies(data);
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, node ${process.version}; ` +
      `${runs} runs × ${duration} s per route, ${connections} connections, ${warmup} s warm-up`,
  );
  const results: Record<string, RouteRun[]> = { "/recommend": [], "/abtest": [] };
  const rss: RssTrace[] = [];
  for (let run = 0; run < runs; run++) {
    const db = join(work, `decisions-${run}.db`);
    const { child, url } = await startServer(bundle, data, db);
    const pid = child.pid as number;
    try {
      for (const route of ROUTES) await drive(url, route, warmup, payloads);
      for (const route of ROUTES) {
        // Each route has its own steady state (/abtest also holds the decision log): sample per route.
        const samples: number[] = [rssMb(pid)];
        const sampler = setInterval(() => samples.push(rssMb(pid)), 1000);
        const r = await drive(url, route, duration, payloads);
        clearInterval(sampler);
        samples.push(rssMb(pid));
        results[route].push(r);
        console.log(
          `run ${run + 1} ${route.padEnd(10)} ${round(r.rps).toLocaleString("en-US").padStart(7)} req/s  ` +
            `p50 ${ms(r.p50)} ms  p99 ${ms(r.p99)} ms  errors ${r.errors}  (${r.requests} requests)`,
        );
        const half = Math.max(1, Math.floor(samples.length / 2));
        rss.push({
          run: run + 1,
          route,
          startMb: mean(samples.slice(0, half)),
          endMb: mean(samples.slice(-half)),
          maxMb: Math.max(...samples),
          minMb: Math.min(...samples),
          samples: samples.length,
        });
      }
    } finally {
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      await exited;
    }
  }
  console.log("\nroute       req/s (median, min–max)         p50 ms   p99 ms   errors");
  const summary: Record<string, unknown> = {};
  for (const route of ROUTES) {
    const rs = results[route];
    const rps = rs.map((r) => r.rps);
    const line = {
      rps: round(median(rps)),
      rpsMin: round(Math.min(...rps)),
      rpsMax: round(Math.max(...rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      errors: rs.reduce((sum, r) => sum + r.errors, 0),
    };
    summary[route] = line;
    const fmt = (x: number) => x.toLocaleString("en-US");
    const throughput = `${route.padEnd(11)} ${fmt(line.rps).padStart(7)} (${fmt(line.rpsMin)}–${fmt(line.rpsMax)})`;
    const latency = `${ms(line.p50).padStart(6)}   ${ms(line.p99).padStart(6)}`;
    console.log(`${throughput.padEnd(44)}${latency}   ${line.errors}`);
  }
  const drift = rss.map((r) => ((r.endMb - r.startMb) / r.startMb) * 100);
  for (const [i, r] of rss.entries()) {
    console.log(
      `RSS run ${r.run} ${r.route}: mean ${round(r.startMb)} MB over the first half, ${round(r.endMb)} MB over the second ` +
        `(drift ${round(drift[i], 1)} %), min ${round(r.minMb)} MB, max ${round(r.maxMb)} MB, ${r.samples} samples`,
    );
  }
  const flat = drift.every((d) => Math.abs(d) <= 10);
  // A GC cycle lasts seconds: half-run means only average it out over runs of half a minute or more.
  const judged = duration >= 30;
  console.log(
    judged
      ? `RSS flat within 10 %: ${flat ? "yes" : "no"}`
      : `RSS flat within 10 %: not judged (runs of ${duration} s are too short; use --duration 60)`,
  );
  if (args.json) {
    writeFileSync(
      args.json,
      `${JSON.stringify({ duration, runs, connections, routes: summary, rss, rssFlat: judged ? flat : null }, null, 2)}\n`,
    );
  }
}

await main();
