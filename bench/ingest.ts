// Ingest benchmark: events/s and peak RSS of loadDelivery (+ buildListens when src/listens exists) on a
// production-size delivery. Each run is a fresh child process (so peak RSS is per run); prints the median of 3.
//
//   node --import tsx bench/ingest.ts [deliveryDir] [--runs 3] [--json-parser]
//
// Without a folder it uses /tmp/skipwise-prod, generating it first with src/synth (`--size production`,
// seed 42) when absent; without src/synth it repeats the real 2023L-v2 sessions to ~4.7 M lines instead.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const DEFAULT_DIR = "/tmp/skipwise-prod";
const PRODUCTION_EVENTS = 4_700_000;

interface RunResult {
  events: number;
  listens: number | null;
  loadMs: number;
  listensMs: number | null;
  maxRssMB: number;
  /** user + system CPU time of the whole child: on a shared, busy machine wall time overstates the cost. */
  cpuMs: number;
  fastPathLines: number;
}

async function child(dir: string, jsonParser: boolean): Promise<void> {
  const { loadDelivery } = await import("../src/data/index.ts");
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const delivery = await loadDelivery(dir, { fastPath: !jsonParser });
  const loadMs = performance.now() - t0;
  let listens: number | null = null;
  let listensMs: number | null = null;
  if (existsSync(join(here, "../src/listens/index.ts"))) {
    const { buildListens } = await import("../src/listens/index.ts");
    const t1 = performance.now();
    listens = buildListens(delivery.events, delivery.catalog).length;
    listensMs = performance.now() - t1;
  }
  const result: RunResult = {
    events: delivery.events.length,
    listens,
    loadMs,
    listensMs,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    cpuMs: ((c) => (c.user + c.system) / 1000)(process.cpuUsage(cpu0)),
    fastPathLines: delivery.quality.dialect.sessionsFastPathLines,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function ensureDelivery(dir: string): Promise<string> {
  if (existsSync(join(dir, "sessions.jsonl")) || existsSync(join(dir, "sessions.jsonl.gz"))) return dir;
  if (existsSync(join(here, "../src/synth/index.ts"))) {
    const { generateDelivery } = await import("../src/synth/index.ts");
    process.stderr.write(`generating the production-size delivery into ${dir} …\n`);
    const t0 = performance.now();
    await generateDelivery({ out: dir, size: "production", seed: 42, force: true });
    process.stderr.write(`generated in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    return dir;
  }
  return repeatRealSessions(dir);
}

/** Fallback: the 2023L-v2 catalogue with its sessions repeated (session ids shifted) to ~4.7 M lines. */
function repeatRealSessions(dir: string): string {
  const real = resolve(here, "../../shared/data/pozytywka/2023L-v2");
  mkdirSync(dir, { recursive: true });
  for (const name of ["users", "artists", "tracks", "track_storage"]) {
    symlinkSync(join(real, `${name}.jsonl`), join(dir, `${name}.jsonl`));
  }
  const lines = readFileSync(join(real, "sessions.jsonl"), "utf8").trimEnd().split("\n");
  const out: string[] = [];
  for (let copy = 0; out.length < PRODUCTION_EVENTS; copy++) {
    for (const line of lines) {
      out.push(line.replace(/"session_id": (\d+)/, (_, id) => `"session_id": ${Number(id) + copy * 10_000}`));
    }
  }
  writeFileSync(join(dir, "sessions.jsonl"), `${out.join("\n")}\n`);
  return dir;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const jsonParser = args.includes("--json-parser");
  if (args[0] === "--child") return child(args[1], jsonParser);
  const runsAt = args.indexOf("--runs");
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;
  const positional = args.filter((a, i) => !a.startsWith("--") && (runsAt < 0 || i !== runsAt + 1));
  const dir = await ensureDelivery(resolve(positional[0] ?? DEFAULT_DIR));

  const results: RunResult[] = [];
  for (let run = 0; run < runs; run++) {
    const output = execFileSync(
      process.execPath,
      [
        "--import",
        "tsx",
        fileURLToPath(import.meta.url),
        "--child",
        dir,
        ...(jsonParser ? ["--json-parser"] : []),
      ],
      { encoding: "utf8", maxBuffer: 1 << 20, stdio: ["ignore", "pipe", "inherit"] },
    );
    const result = JSON.parse(output.trim().split("\n").pop() as string) as RunResult;
    results.push(result);
    const listens = result.listensMs === null ? "" : ` + listens ${(result.listensMs / 1000).toFixed(2)} s`;
    process.stdout.write(
      `run ${run + 1}: load ${(result.loadMs / 1000).toFixed(2)} s${listens}, CPU ${(result.cpuMs / 1000).toFixed(2)} s, peak RSS ${result.maxRssMB.toFixed(0)} MB\n`,
    );
  }
  const events = results[0].events;
  const loadMs = median(results.map((r) => r.loadMs));
  const totalMs = median(results.map((r) => r.loadMs + (r.listensMs ?? 0)));
  const rss = median(results.map((r) => r.maxRssMB));
  const lines = [
    `delivery        ${dir}`,
    `parser          ${jsonParser ? "JSON.parse per line" : "fast path (JSON.parse fallback)"}; fast-path lines ${results[0].fastPathLines.toLocaleString("en-US")}`,
    `events          ${events.toLocaleString("en-US")}${results[0].listens === null ? "" : `; listens ${results[0].listens.toLocaleString("en-US")}`}`,
    `loadDelivery    ${(loadMs / 1000).toFixed(2)} s = ${Math.round(events / (loadMs / 1000)).toLocaleString("en-US")} events/s (median of ${runs})`,
  ];
  if (results[0].listensMs !== null) {
    lines.push(
      `+ buildListens  ${(totalMs / 1000).toFixed(2)} s = ${Math.round(events / (totalMs / 1000)).toLocaleString("en-US")} events/s (median of ${runs})`,
    );
  }
  const cpuMs = median(results.map((r) => r.cpuMs));
  lines.push(
    `CPU time        ${(cpuMs / 1000).toFixed(2)} s = ${Math.round(events / (cpuMs / 1000)).toLocaleString("en-US")} events per CPU-second (load average now ${loadavg()[0].toFixed(1)} on ${cpus().length} cores)`,
  );
  lines.push(`peak RSS        ${rss.toFixed(0)} MB (median of per-run maxRSS)`);
  lines.push("target          >= 500,000 events/s and < 2,048 MB RSS");
  process.stdout.write(`${lines.join("\n")}\n`);
  // Machine-readable summary for bench/run-all.ts: one object per run.
  const perRun = results.map((r) => ({
    "loadDelivery events/s": events / (r.loadMs / 1000),
    ...(r.listensMs === null
      ? {}
      : { "load + listens events/s": events / ((r.loadMs + r.listensMs) / 1000) }),
    "load s": r.loadMs / 1000,
    "cpu s": r.cpuMs / 1000,
    peak_rss_mb: r.maxRssMB,
  }));
  process.stdout.write(
    `BENCH_JSON ${JSON.stringify({ bench: "ingest", params: { delivery: dir, events, parser: jsonParser ? "json" : "fast" }, runs: perRun })}\n`,
  );
}

await main();
