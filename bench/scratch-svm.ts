import { loadDelivery } from "../src/data/index.ts";
import { buildListens } from "../src/listens/index.ts";
import { LinearSVM } from "../src/models/svm.ts";
import { buildDataset } from "../src/train/dataset.ts";
import { selectRows, timeSplit } from "../src/train/split.ts";
import { rocAucByRanks } from "./parity.ts";

const dir = process.argv[2];
const delivery = await loadDelivery(dir);
const listens = buildListens(delivery.events, delivery.catalog);
const ds = buildDataset(listens, delivery.catalog);
const split = timeSplit(ds.startMs);
const pick = (rows: Int32Array) => {
  const y = new Uint8Array(rows.length);
  for (let k = 0; k < rows.length; k++) y[k] = ds.y[rows[k]];
  return { X: selectRows(ds.X, rows), y };
};
const train = pick(split.train),
  test = pick(split.test);
console.log("train rows", train.X.rows);
let sorted = true;
for (let i = 1; i < ds.startMs.length; i++)
  if (ds.startMs[i] < ds.startMs[i - 1]) {
    sorted = false;
    break;
  }
console.log(
  "dataset rows sorted by start:",
  sorted,
  "train contiguous:",
  split.train[split.train.length - 1] === split.train.length - 1,
);
for (const solver of (process.argv[3] ?? "primal,dual").split(",") as ("primal" | "dual")[]) {
  const t = process.cpuUsage();
  const m = new LinearSVM({ solver }).fit(train.X, train.y);
  const u = process.cpuUsage(t);
  console.log(
    solver,
    "iters",
    m.iterations,
    "cpu s",
    ((u.user + u.system) / 1e6).toFixed(2),
    "auc",
    rocAucByRanks(m.decisionFunction(test.X), test.y).toFixed(5),
    "objective",
    m.objective(train.X, train.y).toFixed(4),
  );
}
