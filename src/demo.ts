// `npm run demo` / `skipwise demo`: the whole system in one command. Wiring only, like cli.ts: a synthetic
// (or given) delivery → quality report → training and evaluation (report.html + bundle) → the service as
// a child process → A/B replay against it → A/B analysis (abtest.html) → cache simulation (cache.html).
// Each step prints one line; the tools' own output goes to <out>/logs.

import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { percent as pct } from "./base/format.ts";
import { runCacheSimulateCommand } from "./cache/simulate-command.ts";
import { runIngestCommand } from "./data/ingest-command.ts";
import { DEFECT_KINDS } from "./data/quality.ts";
import { runAnalyzeCommand } from "./experiment/analyze-command.ts";
import { replayAgainstService, selectReplayListens } from "./experiment/replay.ts";
import { buildListens } from "./listens/index.ts";
import { MODEL_NAMES } from "./models/registry.ts";
import { generateDelivery, parseDefectSpec, type SizeSpec } from "./synth/index.ts";

/**
 * Synthetic sizes of the demo. "demo" is measured to finish the whole demo in well under 3 minutes on a
 * 2-core machine; "small" is for the CI test.
 */
export const DEMO_SIZES: Record<string, SizeSpec> = {
  small: { users: 30, artists: 150, tracks: 500, sessions: 240, days: 40 },
  demo: { users: 200, artists: 800, tracks: 3_000, sessions: 1_600, days: 60 },
};
/** A few of every defect kind, so the quality report has something to show. */
const DEMO_DEFECTS = "all=0.001";
const DEFAULT_REPLAY_LIMIT = 5_000;
/**
 * Every model but the linear SVM: its fit took 61 of the 138 s of `evaluate` on an 88,000-play synthetic
 * delivery (2-core machine under load) while scoring below the GBDT; `skipwise evaluate` still trains it.
 */
const DEMO_MODELS = MODEL_NAMES.filter((name) => name !== "svm").join(",");

export interface DemoOptions {
  /** A real delivery; default: generate a synthetic one into <out>/delivery. */
  data?: string;
  out: string;
  /** Keep the service running at the end. */
  serve?: boolean;
  /** Service port; 0 = any free port. */
  port?: number;
  /** Listens replayed at most (default 5,000). */
  limit?: number;
  /** Synthetic size: small | demo. */
  size?: string;
  /**
   * Synthetic delivery: from this day on (0-based) skips stop following the listener (`generate --drift-at`),
   * so the replayed test period shows the live guardrail falling back.
   */
  driftAt?: number;
  /** Where the step lines go (default process.stdout). */
  stdout?: NodeJS.WritableStream;
}

export interface DemoResult {
  delivery: string;
  reports: { evaluation: string; abtest: string; cache: string };
  bundle: string;
  db: string;
  /** The service's URL (still running when `serve` was set: stop it with `stopService`). */
  url: string;
  service: ChildProcess | null;
  seconds: number;
}

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), "../bin/skipwise.js");

/** A writable that keeps what it is given (the quiet stdout of a step). */
class Collector extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

function elapsed(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

/** Runs `skipwise <args>` as a child process, its output into `logFile`; rejects with the log's tail on failure. */
function runSkipwise(args: string[], logFile: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const log = createWriteStream(logFile);
    let stdout = "";
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      log.write(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => log.write(chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      log.end(() => {
        if (code === 0) return resolvePromise(stdout);
        const tail = readFileSync(logFile, "utf8").trim().split("\n").slice(-10).join("\n");
        reject(new Error(`skipwise ${args[0]} exited with code ${code}; last lines of ${logFile}:\n${tail}`));
      });
    });
  });
}

/** Starts `skipwise serve` and resolves with its URL once `/ready` answers. */
export async function startService(
  args: { bundle: string; data: string; db: string; port: number },
  logFile: string,
  timeoutMs = 60_000,
): Promise<{ child: ChildProcess; url: string }> {
  const log = createWriteStream(logFile);
  const child = spawn(
    process.execPath,
    [
      BIN,
      "serve",
      "--bundle",
      args.bundle,
      "--data",
      args.data,
      "--db",
      args.db,
      "--port",
      String(args.port),
      "--log-level",
      "warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stderr?.pipe(log);
  const url = await new Promise<string>((resolvePromise, reject) => {
    let buffered = "";
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`the service did not start within ${timeoutMs / 1000} s; see ${logFile}`));
    }, timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => {
      log.write(chunk);
      buffered += chunk.toString();
      const match = /listening on (\S+)/.exec(buffered);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the service exited with code ${code} before listening; see ${logFile}`));
    });
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`${url}/ready`);
      if (response.ok) break;
    } catch {
      // not accepting connections yet
    }
    if (Date.now() > deadline) throw new Error(`${url}/ready did not answer within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url };
}

/** SIGTERM (the service drains and closes its log), then waits for the exit. */
export function stopService(child: ChildProcess, timeoutMs = 15_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolvePromise(code);
    });
    child.kill("SIGTERM");
  });
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const say = (line: string) => (options.stdout ?? process.stdout).write(`${line}\n`);
  const started = performance.now();
  const out = resolve(options.out);
  const logs = join(out, "logs");
  mkdirSync(logs, { recursive: true });
  const quiet = () => new Collector();

  // 1. data
  let step = performance.now();
  let data: string;
  if (options.data !== undefined) {
    data = resolve(options.data);
    if (!existsSync(data)) throw new Error(`--data: ${data} does not exist`);
    say(`[1/7] data: using the delivery ${data}`);
  } else {
    const sizeName = options.size ?? "demo";
    const size = DEMO_SIZES[sizeName];
    if (!size)
      throw new Error(`--size must be one of ${Object.keys(DEMO_SIZES).join(", ")}, got "${sizeName}"`);
    data = join(out, "delivery");
    const generated = await generateDelivery({
      out: data,
      size,
      seed: 42,
      defects: parseDefectSpec(DEMO_DEFECTS),
      driftAt: options.driftAt,
      force: true,
    });
    const truth = generated.manifest.truth;
    say(
      `[1/7] data: generated a synthetic delivery (${size.users} users, ${truth.plays.toLocaleString("en-US")} plays, ` +
        `skip share ${pct(truth.skipShare)}) in ${data} — ${elapsed(step)}`,
    );
  }

  // 2. ingest
  step = performance.now();
  const delivery = await runIngestCommand(data, {
    out: join(out, "ingest"),
    stdout: quiet(),
    stderr: quiet() as unknown as NodeJS.WriteStream,
  });
  const defects = DEFECT_KINDS.reduce((n, kind) => n + delivery.quality.defects[kind].found, 0);
  say(
    `[2/7] ingest: ${delivery.quality.counts.events.toLocaleString("en-US")} events, ${defects} defects found ` +
      `(quality report ${join(out, "ingest", "quality.txt")}) — ${elapsed(step)}`,
  );

  // 3. train + evaluate (a child process: its own memory, its progress lines into the log)
  step = performance.now();
  const reportDir = join(out, "report");
  const bundle = join(out, "bundle");
  const evaluation = await runSkipwise(
    ["evaluate", "--data", data, "--out", reportDir, "--bundle-out", bundle, "--models", DEMO_MODELS],
    join(logs, "evaluate.log"),
  );
  say(`[3/7] train + evaluate: ${evaluation.split("\n")[0]} — ${elapsed(step)}`);

  // 4. service
  step = performance.now();
  const db = join(out, "decisions.db");
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${db}${suffix}`, { force: true });
  const { child, url } = await startService(
    { bundle, data, db, port: options.port ?? 0 },
    join(logs, "serve.log"),
  );
  let service: ChildProcess | null = child;
  try {
    say(`[4/7] serve: ${url} ready (decision log ${db}) — ${elapsed(step)}`);

    // 5. A/B replay
    step = performance.now();
    const listens = buildListens(delivery.events, delivery.catalog);
    const selection = selectReplayListens(listens, delivery.catalog, {
      limit: options.limit ?? DEFAULT_REPLAY_LIMIT,
    });
    const replay = await replayAgainstService(selection.listens, { url, route: "v1", concurrency: 32 });
    say(
      `[5/7] A/B replay: ${replay.answered} of ${selection.available} test-period listens, ${replay.errors} errors, ` +
        `${replay.requestsPerSecond.toFixed(0)} req/s, accuracy seen ${pct(replay.accuracy)} — ${elapsed(step)}`,
    );
    say(`      guardrail: ${await guardrailSummary(url)}`);

    // 6. A/B analysis
    step = performance.now();
    const analyzed = await runAnalyzeCommand({ log: db, data, out: join(out, "abtest"), stdout: quiet() });
    const a = analyzed.analysis;
    const comparison = a.comparisons[0];
    say(
      `[6/7] A/B analysis: ${a.variants.map((v) => `${v.variant} ${v.accuracy.estimate.toFixed(3)}`).join(" vs ")}` +
        (comparison
          ? ` (difference ${comparison.accuracy.difference.toFixed(3)}, p = ${comparison.accuracy.pValue.toPrecision(2)})`
          : "") +
        `${a.srm.alarm ? ", SRM ALARM" : ""} — ${elapsed(step)}`,
    );

    // 7. cache simulation
    step = performance.now();
    const cache = await runCacheSimulateCommand({
      data,
      bundle,
      out: join(out, "cache"),
      stdout: quiet(),
      progress: false,
    });
    const all = cache.simulation.policies.find((p) => p.kind === "cache-all");
    const rec = cache.simulation.recommended;
    const recommendation = cache.simulation.recommendation;
    say(
      `[7/7] cache simulation: cache-everything wastes ${pct(all?.wastedShare ?? Number.NaN)}` +
        (rec && recommendation
          ? recommendation.kind === "cache-all"
            ? "; recommended (on the validation period): cache everything — no model saves more than caching everything"
            : `; recommended (on the validation period): ${rec.name}, test-period net saving ${rec.saving.toFixed(1)} ` +
              `(${pct(rec.share)} of the oracle's, 95 % CI ${rec.savingCi.lower.toFixed(1)} to ${rec.savingCi.upper.toFixed(1)}, bootstrap over users)` +
              (rec.saving < 0 ? ": it costs more than caching everything" : "")
          : "") +
        ` — ${elapsed(step)}`,
    );

    const reports = {
      evaluation: join(reportDir, "report.html"),
      abtest: analyzed.htmlPath,
      cache: cache.htmlPath,
    };
    say(`done in ${elapsed(started)}. Reports:`);
    say(`  evaluation  ${reports.evaluation}`);
    say(`  A/B test    ${reports.abtest}`);
    say(`  cache       ${reports.cache}`);
    if (options.serve) {
      say(`the service keeps running at ${url} (try ${url}/docs); Ctrl-C stops it`);
    } else {
      await stopService(child);
      service = null;
    }
    return {
      delivery: data,
      reports,
      bundle,
      db,
      url,
      service,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    if (service) await stopService(service);
    throw error;
  }
}

/** `skipwise demo`: runs the demo; with `--serve`, keeps the service up until Ctrl-C / SIGTERM, then stops it cleanly. */
export async function runDemoCommand(options: DemoOptions): Promise<void> {
  const result = await runDemo(options);
  const child = result.service;
  if (!child) return;
  const stop = () => {
    stopService(child).catch(() => child.kill("SIGKILL"));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const code = await new Promise<number | null>((done) => {
    if (child.exitCode !== null) done(child.exitCode);
    else child.once("exit", (c) => done(c));
  });
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  (options.stdout ?? process.stdout).write(`service stopped (exit code ${code ?? "signal"})\n`);
}

/**
 * The live guardrail's state per variant, read from the service's /metrics: whether it fell back to
 * prefetching everything, and each variant's running net saving against cache-all.
 */
async function guardrailSummary(url: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const fallback = new Map<string, boolean>();
  for (const m of text.matchAll(/^skipwise_guardrail_fallback\{variant="([^"]+)"\} (\S+)$/gm))
    fallback.set(m[1], Number(m[2]) === 1);
  const saving = new Map<string, number>();
  for (const m of text.matchAll(/^skipwise_net_saving\{variant="([^"]+)",served="true"\} (\S+)$/gm))
    saving.set(m[1], Number(m[2]));
  if (fallback.size === 0) return "no experiment variant";
  return [...fallback]
    .map(
      ([variant, on]) =>
        `${variant} ${on ? "FELL BACK to prefetching everything (its model costs more than caching everything)" : "model decides"}` +
        `, net saving vs cache-all ${(saving.get(variant) ?? 0).toFixed(1)}`,
    )
    .join("; ");
}
