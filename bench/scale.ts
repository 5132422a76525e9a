// Cost against delivery size (issue 11): generates deliveries at k × production size (users and sessions
// multiplied; default 1, 3, 10) and runs `skipwise ingest`, the feature build (bench/features.ts, one run:
// ingest + listens + every feature row), `skipwise train` and `skipwise evaluate` on each as child
// processes, recording wall time, CPU time and peak RSS per stage (GNU time's counters of the child).
//   node --import tsx bench/scale.ts [--scales 1,3,10] [--work /tmp/skipwise-scale] [--stages ingest,features,train,evaluate]
//     [--max-evaluate-scale 3]   (evaluate only up to 3×: at 10× it takes about as long as train again)
//     [--merge]                  (keep bench/scale.json's other (size, stage) rows; every row names its commit)
// Prints a table, writes bench/scale.json and the cost-versus-size chart bench/scale.svg. Deliveries are
// kept in --work and reused when present (generating 10× takes minutes).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { writeFileAtomicSync } from "../src/base/atomic-write.ts";
import { renderVegaLiteSvg } from "../src/report/vega.ts";

const BIN = resolve(import.meta.dirname, "../bin/skipwise.js");
const FEATURES = resolve(import.meta.dirname, "features.ts");
const COMMIT = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
  cwd: import.meta.dirname,
  encoding: "utf8",
}).trim();
const STAGES = ["ingest", "features", "train", "evaluate"];
const stageOrder = (stage: string) => STAGES.indexOf(stage);
const { values: args } = parseArgs({
  options: {
    scales: { type: "string", default: "1,3,10" },
    work: { type: "string", default: "/tmp/skipwise-scale" },
    stages: { type: "string", default: "ingest,features,train,evaluate" },
    /** Skip `evaluate` above this scale (it takes about as long as train again at 10×). */
    "max-evaluate-scale": { type: "string", default: "Infinity" },
    merge: { type: "boolean", default: false },
  },
});
const scales = (args.scales ?? "1").split(",").map(Number);
const stages = (args.stages ?? "").split(",").filter(Boolean);
const maxEvaluateScale = Number(args["max-evaluate-scale"]);

interface Measure {
  commit: string;
  scale: number;
  events: number;
  stage: string;
  wallS: number;
  cpuS: number;
  peakRssMb: number;
  ok: boolean;
}

/** Runs a command under GNU time; its last stderr line holds "wall user sys maxrss_kb". */
function timed(
  command: string[],
  env: NodeJS.ProcessEnv = process.env,
): {
  wallS: number;
  cpuS: number;
  peakRssMb: number;
  ok: boolean;
  tail: string;
} {
  const run = spawnSync("/usr/bin/time", ["-f", "TIME %e %U %S %M", process.execPath, ...command], {
    encoding: "utf8",
    env,
    stdio: ["ignore", "ignore", "pipe"],
    maxBuffer: 1 << 26,
  });
  const lines = run.stderr.trim().split("\n");
  const line = lines.reverse().find((l) => l.startsWith("TIME ")) ?? "TIME NaN NaN NaN NaN";
  const [wall, user, sys, rss] = line.slice(5).split(" ").map(Number);
  return {
    wallS: wall,
    cpuS: user + sys,
    peakRssMb: rss / 1024,
    ok: run.status === 0,
    tail: lines.slice(1, 6).reverse().join("\n"),
  };
}

function eventsOf(dir: string): number {
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as {
    counts?: { events?: number };
  };
  return manifest.counts?.events ?? Number.NaN;
}

async function main(): Promise<void> {
  if (!existsSync("/usr/bin/time"))
    throw new Error("bench/scale needs GNU time (/usr/bin/time: apt-get install time)");
  const work = resolve(args.work ?? "/tmp/skipwise-scale");
  mkdirSync(work, { recursive: true });
  const results: Measure[] = [];
  for (const k of scales) {
    const delivery = join(work, `production-x${k}`);
    if (!existsSync(join(delivery, "manifest.json"))) {
      process.stderr.write(`generating ${k} × production in ${delivery}…\n`);
      execFileSync(
        process.execPath,
        [BIN, "generate", "--out", delivery, "--size", "production", "--scale", String(k), "--force"],
        {
          stdio: ["ignore", "ignore", "inherit"],
        },
      );
    }
    const events = eventsOf(delivery);
    for (const stage of stages) {
      if (stage === "evaluate" && k > maxEvaluateScale) continue;
      const out = join(work, `out-x${k}-${stage}`);
      const command =
        stage === "ingest"
          ? [BIN, "ingest", delivery, "--out", out]
          : stage === "features"
            ? ["--import", "tsx", FEATURES, delivery]
            : stage === "train"
              ? [BIN, "train", "--data", delivery, "--out", out]
              : [BIN, "evaluate", "--data", delivery, "--out", out];
      process.stderr.write(`${k} × production (${events.toLocaleString("en-US")} events): ${stage}…\n`);
      // bench/features.ts as its own child measures one run in this process instead of spawning three.
      const m = timed(
        command,
        stage === "features" ? { ...process.env, SKIPWISE_BENCH_CHILD: "1" } : process.env,
      );
      if (!m.ok) process.stderr.write(`  ${stage} failed:\n${m.tail}\n`);
      results.push({
        commit: COMMIT,
        scale: k,
        events,
        stage,
        wallS: m.wallS,
        cpuS: m.cpuS,
        peakRssMb: m.peakRssMb,
        ok: m.ok,
      });
      rmSync(out, { recursive: true, force: true });
      process.stderr.write(
        `  ${m.wallS.toFixed(1)} s wall, ${m.cpuS.toFixed(1)} s CPU, peak RSS ${m.peakRssMb.toFixed(0)} MB\n`,
      );
    }
  }
  console.log(
    `\n${"size".padEnd(8)} ${"commit".padEnd(8)} ${"events".padStart(12)} ${"stage".padEnd(10)} ${"wall s".padStart(8)} ${"CPU s".padStart(8)} ${"peak RSS MB".padStart(12)}`,
  );
  for (const r of results) {
    console.log(
      `${`${r.scale}×`.padEnd(8)} ${r.commit.padEnd(8)} ${r.events.toLocaleString("en-US").padStart(12)} ${r.stage.padEnd(10)} ${r.wallS.toFixed(1).padStart(8)} ${r.cpuS.toFixed(1).padStart(8)} ${r.peakRssMb.toFixed(0).padStart(12)}${r.ok ? "" : "  FAILED"}`,
    );
  }
  const dir = import.meta.dirname;
  const json = join(dir, "scale.json");
  if (args.merge && existsSync(json)) {
    const measured = new Set(results.map((r) => `${r.scale}/${r.stage}`));
    const kept = (JSON.parse(readFileSync(json, "utf8")) as { results: Measure[] }).results.filter(
      (r) => !measured.has(`${r.scale}/${r.stage}`),
    );
    results.unshift(...kept);
    results.sort((a, b) => a.scale - b.scale || stageOrder(a.stage) - stageOrder(b.stage));
  }
  writeFileAtomicSync(json, `${JSON.stringify({ bench: "scale", results }, null, 2)}\n`);
  const chart = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: "skipwise: cost against delivery size (2 cores)",
    data: {
      values: results.flatMap((r) => [
        { ...r, metric: "wall time (s)", value: r.wallS },
        { ...r, metric: "peak RSS (GB)", value: r.peakRssMb / 1024 },
      ]),
    },
    facet: { column: { field: "metric", type: "nominal", title: null } },
    resolve: { scale: { y: "independent" } },
    spec: {
      width: 320,
      height: 220,
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "events", type: "quantitative", title: "session events", scale: { type: "log" } },
        y: { field: "value", type: "quantitative", title: null },
        color: { field: "stage", type: "nominal" },
      },
    },
  };
  const svg = join(dir, "scale.svg");
  writeFileAtomicSync(svg, await renderVegaLiteSvg(chart));
  console.log(`\nwrote ${json} and ${svg}`);
}

await main();
