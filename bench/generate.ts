// Times synthetic delivery generation (default: production size, 2023L, no defects).
// Each run is a child process so its peak RSS is its own. Median of 3 runs when a run takes under a minute,
// otherwise 1 run.
//   node --import tsx bench/generate.ts [--size production|demo|small] [--dialect 2023L|2023Z|epoch] [--gzip]
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateDelivery } from "../src/synth/index.ts";
import type { Dialect, SizeName } from "../src/synth/types.ts";

interface RunResult {
  seconds: number;
  events: number;
  sessionLines: number;
  bytes: number;
  truthBytes: number;
  maxRssMb: number;
  /** User + system CPU seconds of the run (wall time suffers when other work shares the 2 cores). */
  cpuSeconds: number;
  rocAuc: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function child(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "skipwise-bench-generate-"));
  try {
    const summary = await generateDelivery({
      out: join(root, "delivery"),
      size: arg("size", "production") as SizeName,
      dialect: arg("dialect", "2023L") as Dialect,
      gzip: process.argv.includes("--gzip"),
    });
    const m = summary.manifest;
    let bytes = 0;
    for (const [file, f] of Object.entries(m.files)) if (file !== "truth") bytes += f.bytes;
    const result: RunResult = {
      seconds: summary.seconds,
      events: m.counts.events,
      sessionLines: m.files.sessions.lines,
      bytes,
      truthBytes: m.files.truth.bytes,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      cpuSeconds: (process.resourceUsage().userCPUTime + process.resourceUsage().systemCPUTime) / 1e6,
      rocAuc: m.truth.rocAuc,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function runChild(): RunResult {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ["--import", "tsx", self, "--child", ...process.argv.slice(2)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split("\n").pop() as string);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  if (process.argv.includes("--child")) {
    await child();
    return;
  }
  const size = arg("size", "production");
  console.log(
    `generate: size ${size}, dialect ${arg("dialect", "2023L")}${process.argv.includes("--gzip") ? ", gzip" : ""}`,
  );
  const runs = [runChild()];
  if (runs[0].seconds < 60) runs.push(runChild(), runChild());
  for (const [i, r] of runs.entries()) {
    console.log(
      `  run ${i + 1}: ${r.seconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(1)} s CPU, peak RSS ${r.maxRssMb.toFixed(0)} MB`,
    );
  }
  const seconds = median(runs.map((r) => r.seconds));
  const r = runs[0];
  console.log(`seconds (median of ${runs.length}): ${seconds.toFixed(1)}`);
  console.log(
    `events: ${r.events.toLocaleString("en-US")} (${r.sessionLines.toLocaleString("en-US")} sessions lines)`,
  );
  console.log(`events/s: ${Math.round(r.events / seconds).toLocaleString("en-US")}`);
  console.log(
    `delivery size: ${(r.bytes / 1e6).toFixed(0)} MB (+ truth.jsonl ${(r.truthBytes / 1e6).toFixed(0)} MB)`,
  );
  console.log(`peak RSS: ${Math.max(...runs.map((x) => x.maxRssMb)).toFixed(0)} MB`);
  console.log(`ROC AUC of the true probabilities: ${r.rocAuc.toFixed(4)}`);
  if (size === "production") console.log(`target: under 120 s -> ${seconds < 120 ? "met" : "NOT met"}`);
}

await main();
