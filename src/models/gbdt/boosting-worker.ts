// A GBDT helper thread (see threads.ts): waits for a job, runs its part of it, counts itself done, and
// waits again. A part that throws marks the pool failed here, in this thread: the grower is blocked in
// Atomics.wait and would not see a Worker "error" event until its own wait timed out.
import { workerData } from "node:worker_threads";
import { ARG_JOB, type BoostingMemory, JOB_STOP, runJobPart } from "./jobs.ts";
import { CTRL_FAILED, CTRL_GENERATION, CTRL_PENDING, CTRL_READY } from "./threads.ts";

const memory = workerData as BoostingMemory & { ctrl: Int32Array; index: number };
const { ctrl, index, slab, histSize } = memory;
const hist = slab.subarray((index - 1) * histSize, index * histSize);
// Read the generation before saying ready: the grower posts its first job only after every helper is
// ready, so that job always moves the generation past `seen`.
let seen = Atomics.load(ctrl, CTRL_GENERATION);
Atomics.add(ctrl, CTRL_READY, 1);
Atomics.notify(ctrl, CTRL_READY);
for (;;) {
  Atomics.wait(ctrl, CTRL_GENERATION, seen);
  seen = Atomics.load(ctrl, CTRL_GENERATION);
  if (memory.args[ARG_JOB] === JOB_STOP) break;
  try {
    runJobPart(memory, hist);
  } catch (error) {
    Atomics.store(ctrl, CTRL_FAILED, 1);
    Atomics.notify(ctrl, CTRL_PENDING);
    throw error;
  }
  if (Atomics.sub(ctrl, CTRL_PENDING, 1) === 1) Atomics.notify(ctrl, CTRL_PENDING);
}
