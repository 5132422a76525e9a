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
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { writeFileAtomicSync } from "../src/base/atomic-write.ts";

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
  /** Figures the script summarised itself (median and range over its runs), shown as they are. */
  summaries?: MetricSummary[];
}

interface BenchSpec {
  name: string;
  script: string;
  description: string;
  /** Arguments of one invocation. */
  args: (scratch: string) => string[];
  /** Invocations: 1 for scripts that do their 3 runs themselves (fresh processes or in-process repeats). */
  invocations: number;
  /** Runs once before the invocations (for example to generate their input). */
  prepare?: (scratch: string) => void;
  /** Left out (with a note) when its script is not in the checkout. */
  optional?: boolean;
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
    name: "train",
    script: "train.ts",
    description:
      "the `skipwise train` pipeline's GBDT on a generated delivery vs the AUC of the true probabilities (one process per run)",
    args: (scratch) => (quick ? ["--data", join(scratch, "demo")] : []),
    invocations: RUNS,
    prepare: (scratch) => {
      if (!quick) return;
      execFileSync(
        process.execPath,
        [
          join(REPO, "bin/skipwise.js"),
          "generate",
          "--out",
          join(scratch, "demo"),
          "--size",
          "demo",
          "--seed",
          "7",
        ],
        { stdio: "ignore" },
      );
    },
    optional: true,
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

/**
 * bench/serve.ts writes its own summary to --json: per route the median req/s of its runs with min–max,
 * the median p50/p99 (autocannon's whole milliseconds: 0 = under 1 ms) and the errors of all runs; RSS per
 * run and route. These are taken as they are (no per-run rows to re-derive).
 */
function readServeJson(path: string): BenchOutput {
  const json = JSON.parse(readFileSync(path, "utf8")) as {
    duration: number;
    runs: number;
    connections: number;
    routes: Record<
      string,
      { rps: number; rpsMin: number; rpsMax: number; p50: number; p99: number; errors: number }
    >;
    rss: { startMb: number; endMb: number; maxMb: number }[];
  };
  const n = json.runs;
  const single = (metric: string, value: number, count = n): MetricSummary => ({
    metric,
    median: value,
    min: value,
    max: value,
    n: count,
    rangeUnknown: true,
  });
  const summaries: MetricSummary[] = [];
  for (const [route, line] of Object.entries(json.routes)) {
    summaries.push({ metric: `${route} req/s`, median: line.rps, min: line.rpsMin, max: line.rpsMax, n });
    summaries.push(single(`${route} p50 ms (0 = under 1 ms)`, line.p50));
    summaries.push(single(`${route} p99 ms`, line.p99));
    summaries.push(single(`${route} errors (sum of runs)`, line.errors));
  }
  const drifts = json.rss.map((r) => ((r.endMb - r.startMb) / r.startMb) * 100);
  summaries.push({
    metric: "RSS drift % (2nd half vs 1st half of a run)",
    median: drifts.sort((a, b) => a - b)[drifts.length >> 1],
    min: drifts[0],
    max: drifts[drifts.length - 1],
    n: drifts.length,
  });
  return {
    params: { duration: json.duration, runs: json.runs, connections: json.connections },
    runs: [{ peak_rss_mb: Math.max(...json.rss.map((r) => r.maxMb)) }],
    summaries,
  };
}

function readBenchJson(stdout: string): BenchOutput {
  const line = stdout
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("BENCH_JSON "));
  if (!line) throw new Error("the script printed no BENCH_JSON line");
  const parsed = JSON.parse(line.slice("BENCH_JSON ".length)) as BenchOutput & Record<string, unknown>;
  if (Array.isArray(parsed.runs)) {
    if (parsed.runs.length === 0) throw new Error("BENCH_JSON has no runs");
    return parsed;
  }
  // A flat object is one run: its numbers are the figures (peakRssMb is the peak RSS).
  const run: Run = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value === "number") run[key === "peakRssMb" ? "peak_rss_mb" : key] = value;
  }
  if (Object.keys(run).length === 0) throw new Error("BENCH_JSON has no figures");
  return { params: {}, runs: [run] };
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
  /** The script reported a median over n runs without its range. */
  rangeUnknown?: boolean;
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
  if (Number.isInteger(x)) return x.toLocaleString("en-US");
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
  startedAt: string;
  loadAverage: { start: number; end: number };
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
      const range = m.n > 1 && !m.rangeUnknown ? `${formatNumber(m.min)}–${formatNumber(m.max)}` : "";
      const rss = i === 0 && r.peakRssMb !== null ? formatNumber(r.peakRssMb) : "";
      lines.push(
        `| ${i === 0 ? r.name : ""} | ${m.metric} | ${formatNumber(m.median)} | ${range} | ${m.n} | ${rss} |`,
      );
    });
  }
  lines.push("", "## What each benchmark measures", "");
  for (const r of results) {
    const when = r.startedAt
      ? `, started ${r.startedAt.slice(0, 16).replace("T", " ")} UTC, load average ${r.loadAverage.start} → ${r.loadAverage.end}`
      : "";
    lines.push(`- **${r.name}** (${r.wallSeconds.toFixed(0)} s${when}): ${r.description}. \`${r.command}\``);
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

/**
 * With --only, the other benchmarks' results of the previous run (same mode) are kept, so one benchmark
 * can be re-run without repeating the whole suite; each keeps its own date and load average.
 */
function mergePrevious(results: BenchResult[], jsonPath: string): void {
  if (!existsSync(jsonPath)) return;
  const previous = JSON.parse(readFileSync(jsonPath, "utf8")) as { quick: boolean; results: BenchResult[] };
  if (previous.quick !== quick) return;
  for (const old of previous.results) {
    if (!results.some((r) => r.name === old.name)) results.push(old);
  }
  const order = SPECS.map((s) => s.name);
  results.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

async function main(): Promise<void> {
  const only = options.only ? options.only.split(",").map((s) => s.trim()) : undefined;
  const unknown = only?.filter((name) => !SPECS.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) {
    throw new Error(
      `--only: unknown benchmark ${unknown.join(", ")}; known: ${SPECS.map((s) => s.name).join(", ")}`,
    );
  }
  const specs = SPECS.filter(
    (s) => (!only || only.includes(s.name)) && (!s.optional || existsSync(join(HERE, s.script))),
  );
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
      startedAt: new Date().toISOString(),
      loadAverage: { start: Number(loadavg()[0].toFixed(2)), end: Number.NaN },
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
      spec.prepare?.(scratch);
      const own: MetricSummary[] = [];
      for (let i = 0; i < spec.invocations; i++) {
        const stdout = await runScript(spec, args);
        const output = spec.read ? spec.read(stdout, scratch) : readBenchJson(stdout);
        result.params.push(output.params ?? {});
        result.runs.push(...output.runs);
        own.push(...(output.summaries ?? []));
      }
      const summary = summarise(result.runs);
      result.metrics = [...summary.metrics, ...own];
      result.peakRssMb = summary.peakRssMb;
    } catch (error) {
      result.error = error instanceof Error ? error.message : String(error);
      console.error(`  [${spec.name}] FAILED: ${result.error}`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    result.wallSeconds = (performance.now() - started) / 1000;
    result.loadAverage.end = Number(loadavg()[0].toFixed(2));
    results.push(result);
  }
  info.loadAverageAtEnd = Number(loadavg()[0].toFixed(2));
  const outDir = resolve(options.out as string);
  const jsonPath = join(outDir, "results.json");
  const mdPath = join(outDir, "results.md");
  if (only) mergePrevious(results, jsonPath);
  writeFileAtomicSync(
    jsonPath,
    `${JSON.stringify({ generatedAt, quick, runsPerMetric: RUNS, machine: info, results }, null, 2)}\n`,
  );
  const md = markdown(results, info, generatedAt);
  writeFileAtomicSync(mdPath, md);
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
