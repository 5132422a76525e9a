// A GBDT histogram thread (see parallel.ts): waits for a job, builds its feature group's bins into the
// shared histogram, counts itself done, and waits again.
import { workerData } from "node:worker_threads";
import { type HistogramInputs, runKernel } from "./histogram.ts";
import {
  CTRL_BEGIN,
  CTRL_END,
  CTRL_FEATURES,
  CTRL_GENERATION,
  CTRL_HIST,
  CTRL_KIND,
  CTRL_PENDING,
  CTRL_READY,
  featureGroup,
  KIND_STOP,
} from "./parallel.ts";

const data = workerData as HistogramInputs & {
  ctrl: Int32Array;
  featureList: Int32Array;
  slab: Float64Array;
  histSize: number;
  index: number;
  threads: number;
};
const { ctrl, featureList, slab, histSize, index, threads } = data;
// Read the generation before saying ready: the grower posts its first job only after every helper is
// ready, so that job always moves the generation past `seen`.
let seen = Atomics.load(ctrl, CTRL_GENERATION);
Atomics.add(ctrl, CTRL_READY, 1);
Atomics.notify(ctrl, CTRL_READY);
for (;;) {
  Atomics.wait(ctrl, CTRL_GENERATION, seen);
  seen = Atomics.load(ctrl, CTRL_GENERATION);
  const kind = Atomics.load(ctrl, CTRL_KIND);
  if (kind === KIND_STOP) break;
  const nf = ctrl[CTRL_FEATURES];
  const [from, to] = featureGroup(index, threads, nf);
  const offset = ctrl[CTRL_HIST];
  runKernel(
    kind,
    data,
    slab.subarray(offset, offset + histSize),
    featureList,
    from,
    to,
    ctrl[CTRL_BEGIN],
    ctrl[CTRL_END],
  );
  if (Atomics.sub(ctrl, CTRL_PENDING, 1) === 1) Atomics.notify(ctrl, CTRL_PENDING);
}
