// The learning rate of training's GBDT on a large delivery: fits on the first 70 % of listens (in time) with
// early stopping on the next 10 %, for each learning rate, and prints trees, fit seconds and the validation
// and test ROC AUC (the last 20 %). Justifies LARGE_TRAINING_GBDT in src/train/pipeline.ts.
// Run: node --import tsx bench/gbdt-learning-rate.ts <delivery> [0.1,0.2,0.3]
import { loadDelivery } from "../src/data/index.ts";
import { buildListens } from "../src/listens/index.ts";
import { GradientBoostedTrees } from "../src/models/gbdt.ts";
import { buildDataset } from "../src/train/dataset.ts";
import { rocAuc } from "../src/train/metrics.ts";
import { LARGE_TRAINING_GBDT, TRAINING_GBDT } from "../src/train/pipeline.ts";

const delivery = await loadDelivery(process.argv[2] ?? "/tmp/skipwise-prod");
const listens = buildListens(delivery.events, delivery.catalog);
const ds = buildDataset(listens, delivery.catalog, { events: delivery.events });
const n = ds.X.rows,
  cols = ds.X.cols;
const a = Math.floor(n * 0.7),
  b = Math.floor(n * 0.8);
const view = (from: number, to: number) => ({
  rows: to - from,
  cols,
  data: ds.X.data.subarray(from * cols, to * cols),
});
const Xt = view(0, a),
  yt = ds.y.subarray(0, a),
  Xv = view(a, b),
  yv = ds.y.subarray(a, b),
  Xs = view(b, n),
  ys = ds.y.subarray(b, n);
for (const lr of (process.argv[3] ?? "0.1,0.2").split(",").map(Number)) {
  const t = performance.now();
  const m = new GradientBoostedTrees({ ...TRAINING_GBDT, ...LARGE_TRAINING_GBDT, learningRate: lr }).fit(
    Xt,
    yt,
    { validation: { X: Xv, y: yv } },
  );
  console.log(
    "lr",
    lr,
    "trees",
    m.treeCount,
    "fit s",
    ((performance.now() - t) / 1000).toFixed(1),
    "valid AUC",
    rocAuc(yv, m.predictProba(Xv)).toFixed(5),
    "test AUC",
    rocAuc(ys, m.predictProba(Xs)).toFixed(5),
  );
}
