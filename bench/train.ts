// How close does the honest pipeline get to the limit? On a production-size synthetic delivery the
// generator wrote the true P(skip) of every play (truth.jsonl); this script trains the GBDT through the
// same pipeline as `skipwise train` (time split, point-in-time features, refit on train + validation) and
// compares its test ROC AUC with the AUC of the true probabilities on the same test listens.
//   node --import tsx bench/train.ts [--data <dir>] [--regenerate]
// Default delivery: /tmp/skipwise-prod-train (generated with `--size production --seed 7` when missing).
// Prints feature-building speed, fit time, batch prediction rows/s, both AUCs, peak RSS, and a BENCH_JSON line.
import { createReadStream, existsSync, rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { loadDelivery } from "../src/data/index.ts";
import { buildListens } from "../src/listens/index.ts";
import type { ListenTable } from "../src/listens/types.ts";
import { generateDelivery } from "../src/synth/index.ts";
import { rocAuc, rocAucCi } from "../src/train/metrics.ts";
import { trainModels } from "../src/train/pipeline.ts";
import { selectRows, selectValues } from "../src/train/split.ts";

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const dir = option("--data") ?? "/tmp/skipwise-prod-train";
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const perSecond = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString("en-US");
const peakRssMb = () => Math.round((process.resourceUsage().maxRSS * 1024) / 2 ** 20);

/** True P(skip) per listen, joined on (session id, position in session). */
async function truthFor(listens: ListenTable, truthPath: string): Promise<Float64Array> {
  const key = (session: number, position: number) => session * 100_000 + position;
  const truth = new Map<number, number>();
  const lines = createInterface({ input: createReadStream(truthPath), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line.length === 0) continue;
    const row = JSON.parse(line) as { session_id: number; position: number; p_skip: number };
    truth.set(key(row.session_id, row.position), row.p_skip);
  }
  const out = new Float64Array(listens.length);
  let missing = 0;
  for (let i = 0; i < listens.length; i++) {
    const p = truth.get(key(listens.sessionId[i], listens.position[i]));
    if (p === undefined) missing++;
    out[i] = p ?? Number.NaN;
  }
  if (missing > 0)
    throw new Error(`${missing} listens have no line in ${truthPath}: delivery and truth disagree`);
  return out;
}

async function main(): Promise<void> {
  if (flag("--regenerate") && existsSync(dir)) rmSync(dir, { recursive: true });
  if (!existsSync(dir)) {
    const t = performance.now();
    console.log(`generating the production-size delivery into ${dir} …`);
    await generateDelivery({ out: dir, size: "production", seed: 7 });
    console.log(`generated in ${seconds(performance.now() - t)}`);
  }
  let t = performance.now();
  const delivery = await loadDelivery(dir);
  const ingestMs = performance.now() - t;
  t = performance.now();
  const listens = buildListens(delivery.events, delivery.catalog);
  const listensMs = performance.now() - t;
  console.log(
    `ingest ${seconds(ingestMs)} (${perSecond(delivery.events.length, ingestMs)} events/s), listens ${seconds(listensMs)}: ${delivery.events.length.toLocaleString("en-US")} events → ${listens.length.toLocaleString("en-US")} listens`,
  );

  const stageStart = new Map<string, number>();
  const stageMs = new Map<string, number>();
  let last = "";
  t = performance.now();
  const run = trainModels(listens, delivery.catalog, {
    models: ["gbdt"],
    onProgress: (stage) => {
      if (stage === last) return;
      const now = performance.now();
      if (last) stageMs.set(last, now - (stageStart.get(last) ?? now));
      stageStart.set(stage, now);
      last = stage;
      process.stderr.write(`  ${stage}…\n`);
    },
  });
  const totalMs = performance.now() - t;
  if (last) stageMs.set(last, performance.now() - (stageStart.get(last) ?? performance.now()));
  const featuresMs = stageMs.get("features") ?? Number.NaN;
  const gbdt = run.fitted[0];

  const Xtest = selectRows(run.dataset.X, run.split.test);
  t = performance.now();
  gbdt.model.predictProba(Xtest);
  const predictMs = performance.now() - t;

  const yTest = selectValues(run.dataset.y, run.split.test);
  const truth = await truthFor(listens, `${dir}/truth.jsonl`);
  const truthTest = selectValues(truth, run.split.test);
  const modelAuc = rocAucCi(yTest, gbdt.testP);
  const truthAuc = rocAuc(yTest, truthTest);
  const gap = truthAuc - modelAuc.auc;

  console.log(
    `features: ${seconds(featuresMs)} for ${listens.length.toLocaleString("en-US")} listens (${perSecond(delivery.events.length, featuresMs)} events/s)`,
  );
  console.log(
    `gbdt fit + refit: ${seconds(gbdt.fitSeconds * 1000)} (${(gbdt.model as unknown as { treeCount: number }).treeCount} trees, ${run.split.train.length.toLocaleString("en-US")} train / ${run.split.validation.length.toLocaleString("en-US")} validation rows)`,
  );
  console.log(
    `batch prediction: ${perSecond(Xtest.rows, predictMs)} rows/s on ${Xtest.rows.toLocaleString("en-US")} test rows`,
  );
  console.log(
    `test ROC AUC: gbdt ${modelAuc.auc.toFixed(4)} (95 % CI ${modelAuc.lower.toFixed(4)}–${modelAuc.upper.toFixed(4)}), true probabilities ${truthAuc.toFixed(4)}, gap ${gap.toFixed(4)} (target ≤ 0.01: ${gap <= 0.01 ? "met" : "NOT met"})`,
  );
  console.log(`pipeline total ${seconds(totalMs)}, peak RSS ${peakRssMb()} MB`);
  console.log(
    `BENCH_JSON ${JSON.stringify({
      bench: "train",
      events: delivery.events.length,
      listens: listens.length,
      featuresSeconds: featuresMs / 1000,
      featuresEventsPerSecond: (delivery.events.length / featuresMs) * 1000,
      gbdtFitSeconds: gbdt.fitSeconds,
      predictRowsPerSecond: (Xtest.rows / predictMs) * 1000,
      gbdtAuc: modelAuc.auc,
      truthAuc,
      gap,
      peakRssMb: peakRssMb(),
    })}`,
  );
}

await main();
