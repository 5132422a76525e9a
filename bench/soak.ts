// Load and fault drill: `skipwise serve` as a child process under mixed /abtest, /v1/predict and
// /v1/feedback traffic for --seconds (default 300), a bundle reload (POST /admin/reload with the API key)
// at one third and one `kill -9` + restart on the same port and decision log at 60 % of the time.
// Prints errors, lost decisions (answered decision ids missing from the log after the restart: must be 0),
// p50/p99 latency and RSS per 10-second window.
//
//   node --import tsx bench/soak.ts [--seconds 300] [--connections 16] [--feedback 0.7]
//        [--bundle <dir> --data <delivery>] [--json <file>]
//
// Without --bundle: a synthetic delivery (`skipwise generate --size small`) and two bundles trained on it
// by `skipwise train` (the second one is the reload target).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import {
  generateAndTrain,
  lastListens,
  postJson,
  type ReplayListen,
  type ServeChild,
  skipwise,
  spawnServe,
} from "../test/observability/service.ts";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "300" },
    connections: { type: "string", default: "16" },
    feedback: { type: "string", default: "0.7" },
    window: { type: "string", default: "10" },
    bundle: { type: "string" },
    data: { type: "string" },
    json: { type: "string" },
  },
});
const seconds = Number(args.seconds);
const connections = Number(args.connections);
const feedbackShare = Number(args.feedback);
const windowSeconds = Number(args.window);
if (!(seconds >= 10)) throw new Error(`--seconds must be ≥ 10, got ${args.seconds}`);
const API_KEY = "soak-drill-admin-key";

interface Window {
  requests: number;
  errors: number;
  outageErrors: number;
  latenciesMs: number[];
  rssMb: number[];
  events: string[];
}

const windows: Window[] = [];
function windowAt(elapsedMs: number): Window {
  const i = Math.floor(elapsedMs / 1000 / windowSeconds);
  while (windows.length <= i)
    windows.push({ requests: 0, errors: 0, outageErrors: 0, latenciesMs: [], rssMb: [], events: [] });
  return windows[i];
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function maxRss(w: Window): number {
  const values = w.rssMb.filter(Number.isFinite);
  return values.length > 0 ? Math.max(...values) : Number.NaN;
}

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
    return kb / 1024;
  } catch {
    return Number.NaN;
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "skipwise-soak-"));
  let data: string;
  let bundle: string;
  let reloadTarget: string;
  if (args.bundle) {
    if (!args.data) throw new Error("--bundle needs --data <delivery> (its catalogue)");
    bundle = resolve(args.bundle);
    data = resolve(args.data);
    reloadTarget = bundle;
  } else {
    const t = performance.now();
    ({ delivery: data, bundle } = generateAndTrain(work, { models: "naive,logistic,gbdt" }));
    reloadTarget = join(work, "bundle-2");
    skipwise(["train", "--data", data, "--out", reloadTarget, "--models", "naive,logistic,gbdt"]);
    console.log(
      `delivery and two bundles ready in ${((performance.now() - t) / 1000).toFixed(1)} s (${work})`,
    );
  }
  const listens: ReplayListen[] = await lastListens(data, Number.MAX_SAFE_INTEGER);
  const db = join(work, "decisions.db");
  let server: ServeChild = await spawnServe({
    bundle,
    data,
    db,
    apiKey: API_KEY,
    extra: ["--rate-limit", "0"],
  });
  const port = server.port;
  const url = server.url;
  console.log(
    `soak: ${seconds} s, ${connections} connections, ${listens.length} listens cycled, feedback for ${Math.round(feedbackShare * 100)} % of decisions; ${url}`,
  );

  const answered: string[] = [];
  let feedbackOk = 0;
  const unexpected: string[] = [];
  let outage = false;
  let stopping = false;
  const started = performance.now();
  const elapsed = () => performance.now() - started;

  const timed = async (path: string, body: unknown) => {
    const t0 = performance.now();
    try {
      const response = await postJson(`${url}${path}`, body);
      const w = windowAt(t0 - started);
      w.requests++;
      w.latenciesMs.push(performance.now() - t0);
      if (response.status !== 200) {
        w.errors++;
        if (unexpected.length < 20)
          unexpected.push(`${path} ${response.status} ${JSON.stringify(response.body)}`);
        return null;
      }
      return response.body;
    } catch (error) {
      const w = windowAt(t0 - started);
      if (outage) w.outageErrors++;
      else {
        w.errors++;
        if (unexpected.length < 20) unexpected.push(`${path}: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 50));
      return null;
    }
  };

  let cursor = 0;
  const client = async () => {
    while (!stopping) {
      const l = listens[cursor++ % listens.length];
      const useAbtest = cursor % 2 === 0;
      const answer = useAbtest
        ? await timed("/abtest", { user_id: l.userId, track_id: l.trackId })
        : await timed("/v1/predict", {
            user_id: l.userId,
            track_id: l.trackId,
            session: {
              session_id: l.sessionId,
              position: l.position,
              previous_outcome: l.previousSkipped === null ? null : l.previousSkipped ? "skipped" : "played",
            },
          });
      if (!answer) continue;
      answered.push(answer.decision_id);
      if (Math.random() < feedbackShare) {
        const fb = await timed("/v1/feedback", {
          decision_id: answer.decision_id,
          outcome: l.skipped ? "skipped" : "played",
          heard_ms: l.heardMs,
        });
        if (fb) feedbackOk++;
      }
    }
  };

  const sampler = setInterval(() => {
    windowAt(elapsed()).rssMb.push(rssMb(server.process.pid));
  }, 1000);

  const drill = (async () => {
    await new Promise((r) => setTimeout(r, seconds * 333));
    const t0 = performance.now();
    const reload = await postJson(`${url}/admin/reload`, { bundle: reloadTarget }, { "x-api-key": API_KEY });
    const note = `reload ${reload.status === 200 ? `ok → ${reload.body.bundle_version}` : `FAILED ${reload.status}`} (${(performance.now() - t0).toFixed(0)} ms)`;
    windowAt(elapsed()).events.push(note);
    console.log(`  t=${(elapsed() / 1000).toFixed(0)} s: ${note}`);
    if (reload.status !== 200) unexpected.push(`reload: ${reload.status} ${JSON.stringify(reload.body)}`);

    await new Promise((r) => setTimeout(r, seconds * 267));
    outage = true;
    const killedAt = performance.now();
    server.process.kill("SIGKILL");
    await server.exited;
    server = await spawnServe({
      bundle: reloadTarget,
      data,
      db,
      apiKey: API_KEY,
      port,
      extra: ["--rate-limit", "0"],
    });
    outage = false;
    const down = performance.now() - killedAt;
    windowAt(elapsed()).events.push(`kill -9 + restart (${down.toFixed(0)} ms down)`);
    console.log(
      `  t=${(elapsed() / 1000).toFixed(0)} s: kill -9, restarted on port ${port} after ${down.toFixed(0)} ms`,
    );
  })();

  const clients = Array.from({ length: connections }, client);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stopping = true;
  await Promise.all(clients);
  await drill;
  clearInterval(sampler);
  const finalRss = rssMb(server.process.pid);
  await server.stop();

  const check = new Database(db, { readonly: true });
  const integrity = check.pragma("integrity_check", { simple: true });
  const has = check.prepare("SELECT 1 FROM decisions WHERE id = ?");
  const lost = answered.filter((id) => has.get(id) === undefined);
  const logged = (
    check.prepare("SELECT count(*) AS n FROM decisions WHERE served = 1").get() as { n: number }
  ).n;
  const feedbackRows = (check.prepare("SELECT count(*) AS n FROM feedback").get() as { n: number }).n;
  check.close();

  console.log("\n window      requests   req/s   errors  outage  p50 ms   p99 ms   RSS MB (max)  events");
  for (const [i, w] of windows.entries()) {
    const sorted = [...w.latenciesMs].sort((a, b) => a - b);
    console.log(
      ` ${String(i * windowSeconds).padStart(4)}–${String((i + 1) * windowSeconds).padEnd(4)} s ${String(w.requests).padStart(9)} ${(w.requests / windowSeconds).toFixed(0).padStart(7)} ${String(w.errors).padStart(8)} ${String(w.outageErrors).padStart(7)} ${quantile(sorted, 0.5).toFixed(2).padStart(7)} ${quantile(sorted, 0.99).toFixed(2).padStart(8)} ${maxRss(w).toFixed(0).padStart(13)}  ${w.events.join("; ")}`,
    );
  }
  const all = windows.flatMap((w) => w.latenciesMs).sort((a, b) => a - b);
  const errors = windows.reduce((n, w) => n + w.errors, 0);
  const outageErrors = windows.reduce((n, w) => n + w.outageErrors, 0);
  const requests = windows.reduce((n, w) => n + w.requests, 0);
  const rssSeries = windows.map(maxRss).filter(Number.isFinite);
  console.log(
    `\nrequests ${requests} (${(requests / seconds).toFixed(0)} req/s), decisions answered ${answered.length}, ` +
      `feedback answered ${feedbackOk} (log holds ${feedbackRows})`,
  );
  console.log(
    `errors: ${errors} unexpected, ${outageErrors} connection errors while the server was down (retried)`,
  );
  for (const line of unexpected.slice(0, 10)) console.log(`  ${line}`);
  console.log(
    `lost decisions: ${lost.length} of ${answered.length} answered (log holds ${logged} served decisions); integrity_check ${integrity}`,
  );
  console.log(
    `latency overall: p50 ${quantile(all, 0.5).toFixed(2)} ms, p99 ${quantile(all, 0.99).toFixed(2)} ms`,
  );
  console.log(
    `RSS: first window ${rssSeries[0]?.toFixed(0)} MB, last ${rssSeries.at(-1)?.toFixed(0)} MB, final ${finalRss.toFixed(0)} MB`,
  );

  if (args.json) {
    const summary = {
      seconds,
      connections,
      requests,
      decisionsAnswered: answered.length,
      feedbackAnswered: feedbackOk,
      feedbackRows,
      errors,
      outageErrors,
      lostDecisions: lost.length,
      integrity,
      p50Ms: quantile(all, 0.5),
      p99Ms: quantile(all, 0.99),
      windows: windows.map((w, i) => {
        const sorted = [...w.latenciesMs].sort((a, b) => a - b);
        return {
          startS: i * windowSeconds,
          requests: w.requests,
          errors: w.errors,
          outageErrors: w.outageErrors,
          p50Ms: quantile(sorted, 0.5),
          p99Ms: quantile(sorted, 0.99),
          rssMb: maxRss(w),
          events: w.events,
        };
      }),
    };
    writeFileSync(args.json, `${JSON.stringify(summary, null, 2)}\n`);
  }
  rmSync(work, { recursive: true, force: true });
  if (lost.length > 0 || errors > 0 || integrity !== "ok") process.exitCode = 1;
}

await main();
