// `npm run bench`: runs every benchmark script as its own process, collects the per-run figures each one
// prints as a final `BENCH_JSON {...}` line (bench/serve.ts: its --json file), and writes
// bench/results.json and bench/results.md (median of 3 runs, min–max, peak RSS, machine description).
//
//   node --import tsx bench/run-all.ts [--quick] [--only ingest,gbdt,...]
//
// --quick: small sizes (the real 2023L-v2 delivery instead of the 4.7 M-event production one, 100k-row
// GBDT, 3-second serve runs, 20k synthetic rows for parity) so the whole suite runs in minutes, not an hour.
// Full mode: production-size delivery (/tmp/skipwise-prod, generated when absent), 1 M-row GBDT, 10-second
// serve runs, parity on the real 2023L-v2 feature matrix.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const HERE = import.meta.dirname;
const REPO = resolve(HERE, "..");
const REAL_DELIVERY = resolve(REPO, "../shared/data/pozytywka/2023L-v2");
const RUNS = 3;

const { values: options } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    out: { type: "string", default: HERE },
  },
});
const quick = options.quick === true;

/** One run's figures: metric name → value (`peak_rss_mb` is the run's peak resident memory). */
type Run = Record<string, number>;

interface BenchOutput {
  params: Record<string, unknown>;
  runs: Run[];
}

interface BenchSpec {
  name: string;
  script: string;
  description: string;
  /** Arguments of one invocation. */
  args: (scratch: string) => string[];
  /** Invocations: 1 for scripts that do their 3 runs themselves (fresh processes or in-process repeats). */
  invocations: number;
  /** Reads the figures of one invocation from its stdout (default: the BENCH_JSON line). */
  read?: (stdout: string, scratch: string) => BenchOutput;
}

const SPECS: BenchSpec[] = [
  {
    name: "ingest",
    script: "ingest.ts",
    description: "loadDelivery (+ buildListens), one child process per run",
    args: () => [...(quick ? [REAL_DELIVERY] : []), "--runs", String(RUNS)],
    invocations: 1,
  },
  {
    name: "features",
    script: "features.ts",
    description: "listens + point-in-time feature vectors + state snapshot, one child process per run",
    args: () => (quick ? [REAL_DELIVERY] : []),
    invocations: 1,
  },
  {
    name: "gbdt",
    script: "gbdt.ts",
    description: "histogram GBDT fit and prediction on synthetic rows (XGBoost alongside when installed)",
    args: () =>
      quick ? ["--rows", "100000", "--trees", "100", "--runs", String(RUNS)] : ["--runs", String(RUNS)],
    invocations: 1,
  },
  {
    name: "serve",
    script: "serve.ts",
    description: "skipwise serve as a child process, autocannon on loopback, fresh server per run",
    args: (scratch) => [
      ...(quick ? ["--duration", "3", "--warmup", "1"] : []),
      "--runs",
      String(RUNS),
      "--json",
      join(scratch, "serve.json"),
    ],
    invocations: 1,
    read: (_stdout, scratch) => readServeJson(join(scratch, "serve.json")),
  },
  {
    name: "parity",
    script: "parity.ts",
    description: "skipwise learners vs scikit-learn / XGBoost on the same matrices (one process per run)",
    args: () => (quick ? ["--rows", "20000"] : ["--delivery", REAL_DELIVERY]),
    invocations: RUNS,
  },
];

/** bench/serve.ts reports medians and ranges per route rather than per-run rows. */
function readServeJson(path: string): BenchOutput {
  const json = JSON.parse(readFileSync(path, "utf8")) as {
    duration: number;
    runs: number;
    connections: number;
    routes: Record<
      string,
      { rps: number; rpsMin: number; rpsMax: number; p50: number; p99: number; errors: number }
    >;
    rss: { startMb: number; maxMb: number }[];
  };
  // Per-run rows are rebuilt for req/s from min/median/max (3 runs); latencies are the script's medians.
  const runs: Run[] = json.rss.map((r) => ({ peak_rss_mb: r.maxMb }));
  for (const [route, line] of Object.entries(json.routes)) {
    const spread = [line.rpsMin, line.rps, line.rpsMax];
    runs.forEach((run, i) => {
      run[`${route} req/s`] = spread[Math.min(i, spread.length - 1)];
    });
    runs[0][`${route} p50 ms (median of runs)`] = line.p50;
    runs[0][`${route} p99 ms (median of runs)`] = line.p99;
    runs[0][`${route} errors (all runs)`] = line.errors;
  }
  runs[0]["RSS drift % (max over runs)"] = Math.max(
    ...json.rss.map((r) => ((r.maxMb - r.startMb) / r.startMb) * 100),
  );
  return { params: { duration: json.duration, runs: json.runs, connections: json.connections }, runs };
}

function readBenchJson(stdout: string): BenchOutput {
  const line = stdout
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("BENCH_JSON "));
  if (!line) throw new Error("the script printed no BENCH_JSON line");
  const parsed = JSON.parse(line.slice("BENCH_JSON ".length)) as BenchOutput;
  if (!Array.isArray(parsed.runs) || parsed.runs.length === 0) throw new Error("BENCH_JSON has no runs");
  return parsed;
}

/** Runs one script, echoing its output with a prefix; resolves with its stdout. */
function runScript(spec: BenchSpec, args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(HERE, spec.script), ...args], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    const echo = (chunk: Buffer, stream: NodeJS.WriteStream) => {
      for (const line of chunk.toString().split("\n")) {
        if (line.trim() !== "" && !line.startsWith("BENCH_JSON ")) stream.write(`  [${spec.name}] ${line}\n`);
      }
    };
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      echo(chunk, process.stdout);
    });
    child.stderr.on("data", (chunk: Buffer) => echo(chunk, process.stderr));
    child.once("error", fail);
    child.once("exit", (code, signal) => {
      if (code === 0) done(stdout);
      else fail(new Error(`bench/${spec.script} exited with ${code ?? signal}`));
    });
  });
}

export interface MetricSummary {
  metric: string;
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarise(runs: readonly Run[]): { metrics: MetricSummary[]; peakRssMb: number | null } {
  const names: string[] = [];
  for (const run of runs) for (const key of Object.keys(run)) if (!names.includes(key)) names.push(key);
  const metrics: MetricSummary[] = [];
  let peakRssMb: number | null = null;
  for (const metric of names) {
    const values = runs.map((r) => r[metric]).filter((v) => typeof v === "number" && Number.isFinite(v));
    if (values.length === 0) continue;
    if (metric === "peak_rss_mb") {
      peakRssMb = Math.max(...values);
      continue;
    }
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    metrics.push({ metric, median, min: sorted[0], max: sorted[sorted.length - 1], n: values.length });
  }
  return { metrics, peakRssMb };
}

export function formatNumber(x: number): string {
  const abs = Math.abs(x);
  if (abs >= 1000) return Math.round(x).toLocaleString("en-US");
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

function machine(): Record<string, string | number> {
  const commit = (() => {
    try {
      const sha = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
        cwd: REPO,
        encoding: "utf8",
      }).trim();
      const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "bench"], {
        cwd: REPO,
        encoding: "utf8",
      }).trim();
      return dirty ? `${sha} (with uncommitted changes in src/ or bench/)` : sha;
    } catch {
      return "unknown";
    }
  })();
  return {
    nproc: availableParallelism(),
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    cpuModel: cpus()[0]?.model ?? "unknown",
    node: process.version,
    os: `${process.platform} ${release()}`,
    loadAverageAtStart: Number(loadavg()[0].toFixed(2)),
    commit,
  };
}

interface BenchResult {
  name: string;
  description: string;
  command: string;
  wallSeconds: number;
  params: Record<string, unknown>[];
  runs: Run[];
  metrics: MetricSummary[];
  peakRssMb: number | null;
  error?: string;
}

function markdown(
  results: BenchResult[],
  info: Record<string, string | number>,
  generatedAt: string,
): string {
  const lines = [
    "# skipwise benchmarks",
    "",
    `Generated ${generatedAt} by \`npm run bench${quick ? " -- --quick" : ""}\` (bench/run-all.ts)${quick ? " — **quick mode: small sizes**" : ""}.`,
    `Each figure is the median of ${RUNS} runs with the min–max range; peak RSS is the largest resident set of any run.`,
    "",
    "## Machine",
    "",
    "| nproc | memory | CPU | node | OS | load average (start → end) | commit |",
    "|---|---|---|---|---|---|---|",
    `| ${info.nproc} | ${info.memoryGiB} GiB | ${info.cpuModel} | ${info.node} | ${info.os} | ${info.loadAverageAtStart} → ${info.loadAverageAtEnd} | ${info.commit} |`,
    "",
    "## Results",
    "",
    "| Benchmark | Metric | Median | Min–max | Runs | Peak RSS (MB) |",
    "|---|---|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    if (r.error) {
      lines.push(`| ${r.name} | **failed**: ${r.error.replaceAll("|", "\\|")} | | | | |`);
      continue;
    }
    r.metrics.forEach((m, i) => {
      const range = m.n > 1 ? `${formatNumber(m.min)}–${formatNumber(m.max)}` : "";
      const rss = i === 0 && r.peakRssMb !== null ? formatNumber(r.peakRssMb) : "";
      lines.push(
        `| ${i === 0 ? r.name : ""} | ${m.metric} | ${formatNumber(m.median)} | ${range} | ${m.n} | ${rss} |`,
      );
    });
  }
  lines.push("", "## What each benchmark measures", "");
  for (const r of results) {
    lines.push(`- **${r.name}** (${r.wallSeconds.toFixed(0)} s): ${r.description}. \`${r.command}\``);
    const params = r.params.find((p) => Object.keys(p).length > 0);
    if (params) lines.push(`  Parameters: \`${JSON.stringify(params)}\``);
  }
  lines.push(
    "",
    "The machine is shared: the load average shows how busy it was. Wall-clock figures on a busy 2-core",
    "machine are pessimistic; compare runs made under similar load.",
    "",
  );
  return lines.join("\n");
}

function writeAtomic(path: string, text: string): void {
  const temp = `${path}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, path);
}

async function main(): Promise<void> {
  const only = options.only ? options.only.split(",").map((s) => s.trim()) : undefined;
  const unknown = only?.filter((name) => !SPECS.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) {
    throw new Error(
      `--only: unknown benchmark ${unknown.join(", ")}; known: ${SPECS.map((s) => s.name).join(", ")}`,
    );
  }
  const specs = SPECS.filter((s) => !only || only.includes(s.name));
  const info = machine();
  const generatedAt = new Date().toISOString();
  console.log(
    `skipwise benchmarks${quick ? " (quick)" : ""}: ${specs.map((s) => s.name).join(", ")}; ` +
      `${info.nproc} × ${info.cpuModel}, ${info.memoryGiB} GiB, node ${info.node}, load ${info.loadAverageAtStart}`,
  );
  const results: BenchResult[] = [];
  for (const spec of specs) {
    const scratch = mkdtempSync(join(tmpdir(), `skipwise-bench-${spec.name}-`));
    const args = spec.args(scratch);
    const command =
      `node --import tsx bench/${spec.script} ${args.map((a) => (a.startsWith(scratch) ? "<tmp>" : a)).join(" ")}`.trim();
    const started = performance.now();
    const result: BenchResult = {
      name: spec.name,
      description: spec.description,
      command: spec.invocations > 1 ? `${command}  (× ${spec.invocations})` : command,
      wallSeconds: 0,
      params: [],
      runs: [],
      metrics: [],
      peakRssMb: null,
    };
    console.log(`\n== ${spec.name}: ${result.command}`);
    try {
      for (let i = 0; i < spec.invocations; i++) {
        const stdout = await runScript(spec, args);
        const output = spec.read ? spec.read(stdout, scratch) : readBenchJson(stdout);
        result.params.push(output.params ?? {});
        result.runs.push(...output.runs);
      }
      Object.assign(result, summarise(result.runs));
    } catch (error) {
      result.error = error instanceof Error ? error.message : String(error);
      console.error(`  [${spec.name}] FAILED: ${result.error}`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    result.wallSeconds = (performance.now() - started) / 1000;
    results.push(result);
  }
  info.loadAverageAtEnd = Number(loadavg()[0].toFixed(2));
  const outDir = resolve(options.out as string);
  const jsonPath = join(outDir, "results.json");
  const mdPath = join(outDir, "results.md");
  writeAtomic(
    jsonPath,
    `${JSON.stringify({ generatedAt, quick, runsPerMetric: RUNS, machine: info, results }, null, 2)}\n`,
  );
  const md = markdown(results, info, generatedAt);
  writeAtomic(mdPath, md);
  console.log(`\n${md}`);
  console.log(`wrote ${jsonPath} and ${mdPath}`);
  if (results.some((r) => r.error)) process.exitCode = 1;
}

if (process.argv[1] === import.meta.filename) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
