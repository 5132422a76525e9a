// Feedback flood (issue 10, case 1): does unauthenticated feedback for unknown listens slow the service?
//   node --import tsx bench/flood.ts [--bundle <dir> --data <delivery>] [--log-rows 300000] [--duration 5]
//        [--flood-connections 4] [--json <file>]
// Starts `skipwise serve` (rate limit off, to measure the lookup, not the limiter), fills its decision log
// with --log-rows decisions through /v1/predict/batch, then measures GET /health with autocannon alone and
// while --flood-connections connections post feedback for random unknown users + tracks. Prints req/s and
// p99 of /health in both runs, their ratio, and the flood's own req/s and status counts.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { stageProgress } from "../src/base/progress.ts";
import { startServer } from "./serve-process.ts";

const REAL_DELIVERY = resolve(import.meta.dirname, "../../shared/data/pozytywka/2023L-v2");
const BIN = resolve(import.meta.dirname, "../bin/skipwise.js");

const { values: args } = parseArgs({
  options: {
    bundle: { type: "string" },
    data: { type: "string" },
    "log-rows": { type: "string", default: "300000" },
    duration: { type: "string", default: "5" },
    "flood-connections": { type: "string", default: "4" },
    json: { type: "string" },
  },
});
const logRows = Number(args["log-rows"]);
const duration = Number(args.duration);
const floodConnections = Number(args["flood-connections"]);

async function fillLog(url: string, rows: number): Promise<void> {
  const progress = stageProgress(process.stderr, { unit: "decisions" });
  progress.update("fill the log", 0, rows);
  const at = Date.now();
  for (let done = 0; done < rows; done += 1000) {
    const items = Array.from({ length: Math.min(1000, rows - done) }, (_, i) => ({
      user_id: 1 + ((done + i) % 5000),
      track_id: `fill-${(done + i) % 20_000}`,
      model: "naive",
      timestamp_ms: at,
    }));
    const r = await fetch(`${url}/v1/predict/batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ items }),
    });
    if (!r.ok) throw new Error(`batch fill: ${r.status} ${await r.text()}`);
    progress.update("fill the log", done + items.length, rows);
  }
  progress.stop();
}

function health(url: string): Promise<autocannon.Result> {
  return autocannon({ url: `${url}/health`, connections: 10, duration });
}

function flood(url: string): Promise<autocannon.Result> {
  let n = 0;
  return autocannon({
    url,
    connections: floodConnections,
    duration,
    requests: [
      {
        method: "POST",
        path: "/v1/feedback",
        headers: { "content-type": "application/json" },
        setupRequest: (request) => {
          n++;
          request.body = JSON.stringify({
            user_id: 10_000_000 + ((n * 7919) % 1_000_000_000),
            track_id: `unknown-${n}`,
            outcome: "skipped",
          });
          return request;
        },
      },
    ],
  });
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "skipwise-flood-"));
  try {
    let bundle = args.bundle;
    const data = args.data ?? REAL_DELIVERY;
    if (!bundle) {
      bundle = join(work, "bundle");
      process.stderr.write(`training a bundle on ${data} (naive, logistic)…\n`);
      execFileSync(
        process.execPath,
        [BIN, "train", "--data", data, "--out", bundle, "--models", "naive,logistic"],
        {
          stdio: ["ignore", "ignore", "inherit"],
        },
      );
    }
    const { child, url } = await startServer(bundle, data, join(work, "decisions.db"));
    try {
      await fillLog(url, logRows);
      const alone = await health(url);
      const [during, flooding] = await Promise.all([health(url), flood(url)]);
      const result = {
        logRows,
        durationS: duration,
        floodConnections,
        healthAlone: { rps: alone.requests.average, p99Ms: alone.latency.p99 },
        healthDuringFlood: { rps: during.requests.average, p99Ms: during.latency.p99 },
        ratio: during.requests.average / alone.requests.average,
        flood: {
          rps: flooding.requests.average,
          p99Ms: flooding.latency.p99,
          statuses: flooding.statusCodeStats,
          errors: flooding.errors,
        },
      };
      process.stdout.write(
        [
          `decision log: ${logRows.toLocaleString("en-US")} decisions`,
          `GET /health alone:            ${Math.round(result.healthAlone.rps)} req/s, p99 ${result.healthAlone.p99Ms} ms`,
          `GET /health during the flood: ${Math.round(result.healthDuringFlood.rps)} req/s, p99 ${result.healthDuringFlood.p99Ms} ms (${(100 * result.ratio).toFixed(0)} % of alone)`,
          `flood (${floodConnections} connections, unknown user + track): ${Math.round(result.flood.rps)} req/s, p99 ${result.flood.p99Ms} ms, statuses ${JSON.stringify(result.flood.statuses)}`,
        ]
          .map((line) => `${line}\n`)
          .join(""),
      );
      if (args.json) writeFileSync(args.json, `${JSON.stringify(result, null, 2)}\n`);
    } finally {
      child.kill("SIGTERM");
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
