import { loadDelivery } from "../src/data/index.ts";
import { buildListens } from "../src/listens/index.ts";
import { LogisticRegression } from "../src/models/logistic.ts";
import { buildDataset } from "../src/train/dataset.ts";
import { rowsOf, timeSplit } from "../src/train/split.ts";
import { rocAucByRanks } from "./parity.ts";

const delivery = await loadDelivery(process.argv[2]);
const listens = buildListens(delivery.events, delivery.catalog);
const ds = buildDataset(listens, delivery.catalog);
const split = timeSplit(ds.startMs);
const Xtr = rowsOf(ds.X, split.train);
const ytr = ds.y.subarray(0, split.train.length);
const Xte = rowsOf(ds.X, split.test);
const yte = ds.y.subarray(split.test[0], split.test[0] + split.test.length);
for (const spec of process.argv.slice(3)) {
  const [solver, tol] = spec.split(":");
  const t = process.cpuUsage();
  const m = new LogisticRegression({ solver: solver as "lbfgs" | "newton", tol: Number(tol) }).fit(Xtr, ytr);
  const u = process.cpuUsage(t);
  console.log(
    spec,
    "iters",
    m.iterations,
    "cpu s",
    ((u.user + u.system) / 1e6).toFixed(1),
    "auc",
    rocAucByRanks(m.decisionFunction(Xte), yte).toFixed(5),
  );
}
