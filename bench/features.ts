// Feature-building speed on a production-size delivery (≈ 4.7 M session events).
//   node --import tsx bench/features.ts [deliveryDir]
// Delivery: the given folder; else /tmp/skipwise-prod (generated there by src/synth when that module
// offers `generateDelivery`); else the real 2023L-v2 sessions repeated (with fresh session and user ids,
// shifted in time) until 4.7 M events. Prints the median of 3 runs (one process each) and peak RSS.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { loadDelivery } from "../src/data/index.ts";
import type { Catalog, EventTable } from "../src/data/types.ts";
import { FeatureState } from "../src/features/index.ts";
import { buildListens } from "../src/listens/index.ts";
import { buildDataset } from "../src/train/dataset.ts";

const PROD_DIR = "/tmp/skipwise-prod";
const TARGET_EVENTS = 4_700_000;
const RUNS = 3;

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const rate = (n: number, ms: number) =>
  `${((n / ms) * 1000).toLocaleString("en-US", { maximumFractionDigits: 0 })}/s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const peakRss = () => process.resourceUsage().maxRSS * 1024;
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

async function obtainDelivery(): Promise<{
  source: string;
  catalog: Catalog;
  events: EventTable;
  ingestMs: number;
}> {
  const given = process.argv[2];
  let dir = given ? resolve(given) : existsSync(PROD_DIR) ? PROD_DIR : undefined;
  if (!dir && existsSync(new URL("../src/synth/index.ts", import.meta.url))) {
    const synth = (await import("../src/synth/index.ts")) as {
      generateDelivery?: (o: { out: string; size: string; seed: number }) => Promise<unknown>;
    };
    if (synth.generateDelivery) {
      const t = performance.now();
      await synth.generateDelivery({ out: PROD_DIR, size: "production", seed: 1 });
      console.log(`generated ${PROD_DIR} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      dir = PROD_DIR;
    }
  }
  if (dir) {
    const t = performance.now();
    const { catalog, events } = await loadDelivery(dir);
    return { source: dir, catalog, events, ingestMs: performance.now() - t };
  }
  const real = resolve(new URL(".", import.meta.url).pathname, "../../shared/data/pozytywka/2023L-v2");
  const t = performance.now();
  const { catalog, events } = await loadDelivery(real);
  const ingestMs = performance.now() - t;
  return { source: `${real} repeated`, catalog, events: repeat(events, TARGET_EVENTS), ingestMs };
}

/** Copies of the table, each with new session and user ids and shifted after the previous copy. */
function repeat(e: EventTable, target: number): EventTable {
  const copies = Math.ceil(target / e.length);
  const n = copies * e.length;
  let minT = Number.POSITIVE_INFINITY;
  let maxT = Number.NEGATIVE_INFINITY;
  let maxSession = 0;
  let maxUser = 0;
  for (let i = 0; i < e.length; i++) {
    minT = Math.min(minT, e.timestampMs[i]);
    maxT = Math.max(maxT, e.timestampMs[i]);
    maxSession = Math.max(maxSession, e.sessionId[i]);
    maxUser = Math.max(maxUser, e.userId[i]);
  }
  const span = maxT - minT + 86_400_000;
  const out: EventTable = {
    length: n,
    timestampMs: new Float64Array(n),
    userId: new Int32Array(n),
    sessionId: new Int32Array(n),
    trackIndex: new Int32Array(n),
    kind: new Uint8Array(n),
    line: new Int32Array(n),
  };
  for (let c = 0; c < copies; c++) {
    const at = c * e.length;
    for (let i = 0; i < e.length; i++) {
      out.timestampMs[at + i] = e.timestampMs[i] + c * span;
      out.userId[at + i] = c === 0 ? e.userId[i] : e.userId[i] + c * (maxUser + 1);
      out.sessionId[at + i] = e.sessionId[i] + c * (maxSession + 1);
      out.line[at + i] = at + i + 1;
    }
    out.trackIndex.set(e.trackIndex, at);
    out.kind.set(e.kind, at);
  }
  return out;
}

/** One measured run: ingest, listens, dataset, snapshot; printed as one JSON line for the parent. */
async function measureOnce(): Promise<void> {
  const { source, catalog, events, ingestMs } = await obtainDelivery();
  let t = performance.now();
  let cpu = process.cpuUsage();
  const listens = buildListens(events, catalog);
  const listensMs = performance.now() - t;
  const listensCpuMs = cpuMs(process.cpuUsage(cpu));
  t = performance.now();
  cpu = process.cpuUsage();
  const ds = buildDataset(listens, catalog);
  const datasetMs = performance.now() - t;
  const datasetCpuMs = cpuMs(process.cpuUsage(cpu));
  t = performance.now();
  const snap = ds.state.snapshot();
  const snapshotMs = performance.now() - t;
  t = performance.now();
  FeatureState.restore(catalog, snap);
  const restoreMs = performance.now() - t;
  const result = {
    source,
    events: events.length,
    tracks: catalog.tracks.length,
    users: catalog.users.size,
    rows: ds.X.rows,
    ingestMs,
    listensMs,
    datasetMs,
    listensCpuMs,
    datasetCpuMs,
    loadAverage: loadavg()[0],
    snapshotBytes: snap.length,
    snapshotMs,
    restoreMs,
    peakRss: peakRss(),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

type Run = {
  source: string;
  events: number;
  tracks: number;
  users: number;
  rows: number;
  ingestMs: number;
  listensMs: number;
  datasetMs: number;
  listensCpuMs: number;
  datasetCpuMs: number;
  loadAverage: number;
  snapshotBytes: number;
  snapshotMs: number;
  restoreMs: number;
  peakRss: number;
};

if (process.env.SKIPWISE_BENCH_CHILD) {
  await measureOnce();
} else {
  if (!process.argv[2] && !existsSync(PROD_DIR)) await obtainDelivery(); // generates /tmp/skipwise-prod when it can
  const runs: Run[] = [];
  for (let run = 1; run <= RUNS; run++) {
    // A fresh process per run: timings without the previous run's garbage, and a per-run peak RSS.
    const out = execFileSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      env: { ...process.env, SKIPWISE_BENCH_CHILD: "1" },
      encoding: "utf8",
      maxBuffer: 1 << 20,
    });
    const r = JSON.parse(out.trim().split("\n").at(-1) as string) as Run;
    runs.push(r);
    console.log(
      `run ${run}: ingest ${(r.ingestMs / 1000).toFixed(2)} s, listens ${(r.listensMs / 1000).toFixed(2)} s, ` +
        `features ${(r.datasetMs / 1000).toFixed(2)} s (CPU ${(r.datasetCpuMs / 1000).toFixed(2)} s), ` +
        `peak RSS ${mb(r.peakRss)}, load average ${r.loadAverage.toFixed(1)}`,
    );
  }
  const r = runs[0];
  const m = (key: keyof Run) => median(runs.map((x) => x[key] as number));
  const [ingest, l, d] = [m("ingestMs"), m("listensMs"), m("datasetMs")];
  console.log(`delivery: ${r.source}`);
  console.log(
    `  ${r.events.toLocaleString("en-US")} events, ${r.rows.toLocaleString("en-US")} listens, ` +
      `${r.tracks.toLocaleString("en-US")} tracks, ${r.users.toLocaleString("en-US")} catalogue users`,
  );
  console.log(`median of ${RUNS} runs (one process each):`);
  console.log(`  ingest:           ${(ingest / 1000).toFixed(2)} s  ${rate(r.events, ingest)} events`);
  console.log(`  listens:          ${(l / 1000).toFixed(2)} s  ${rate(r.events, l)} events`);
  console.log(`  feature vectors:  ${(d / 1000).toFixed(2)} s  ${rate(r.rows, d)} rows`);
  console.log(
    `  listens+features: ${((l + d) / 1000).toFixed(2)} s  ${rate(r.events, l + d)} events  (target < 20 s)`,
  );
  console.log(
    `  ingest+listens:   ${((ingest + l) / 1000).toFixed(2)} s  ${rate(r.events, ingest + l)} events`,
  );
  // On a shared machine wall time includes waiting for a core; CPU time (user + system, which
  // includes the GC's helper threads) is what the work costs.
  const [lc, dc] = [m("listensCpuMs"), m("datasetCpuMs")];
  console.log(
    `  CPU time:         listens ${(lc / 1000).toFixed(2)} s, features ${(dc / 1000).toFixed(2)} s`,
  );
  console.log(
    `  state snapshot:   ${mb(m("snapshotBytes"))}, write ${m("snapshotMs").toFixed(0)} ms, restore ${m("restoreMs").toFixed(0)} ms`,
  );
  console.log(`  peak RSS:         ${mb(m("peakRss"))} (median of the runs' peaks)`);
  // Machine-readable summary for bench/run-all.ts: one object per run.
  const perRun = runs.map((x) => ({
    "listens events/s": x.events / (x.listensMs / 1000),
    "feature rows/s": x.rows / (x.datasetMs / 1000),
    "listens + features s": (x.listensMs + x.datasetMs) / 1000,
    "snapshot restore ms": x.restoreMs,
    peak_rss_mb: x.peakRss / 2 ** 20,
  }));
  console.log(
    `BENCH_JSON ${JSON.stringify({ bench: "features", params: { delivery: r.source, events: r.events, rows: r.rows }, runs: perRun })}`,
  );
}
