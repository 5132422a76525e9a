// Boosting on every core: the grower's thread and helper threads take chunks of a job (jobs.ts) over shared
// memory. The grower blocks on Atomics.wait while its helpers finish (a histogram is needed before
// the next split can be chosen), so the fit stays synchronous; the gradients are fixed point, so the sums
// do not depend on which thread added which rows and the fit is identical to a single-threaded one.
import { Worker } from "node:worker_threads";
import { ARG_JOB, type BoostingMemory, JOB_STOP, runJobPart } from "./jobs.ts";

/** Control slots shared with the helpers. */
export const CTRL_GENERATION = 0;
export const CTRL_PENDING = 1;
export const CTRL_READY = 2;
export const CTRL_FAILED = 3;
const CTRL_SIZE = 4;

/** Fits on fewer rows use one thread: starting helpers (~0.1 s each) costs more than they save. */
export const PARALLEL_MIN_ROWS = 32_768;
/**
 * Nodes with fewer rows are built on the grower's thread alone: a round trip to the helpers costs tens of
 * µs, a 4,096-row histogram over 60 features about 0.3 ms.
 */
export const PARALLEL_MIN_NODE_ROWS = 4_096;
/** How long to wait for a helper before giving up on it (a helper that died would otherwise hang the fit). */
const HELPER_TIMEOUT_MS = 120_000;

/** A typed array of `length` elements on a SharedArrayBuffer. */
export function sharedArray<T extends Uint8Array | Int32Array | Float32Array | Float64Array>(
  Kind: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
  length: number,
): T {
  return new Kind(new SharedArrayBuffer(Math.max(1, length) * Kind.BYTES_PER_ELEMENT));
}

export class BoostingThreads {
  private readonly ctrl = sharedArray(Int32Array, CTRL_SIZE);
  private readonly workers: Worker[] = [];
  private ready = false;
  /** Jobs run with the helpers so far. */
  jobs = 0;

  /** `memory` must live on SharedArrayBuffers, with one slab histogram per helper. */
  constructor(
    private readonly memory: BoostingMemory,
    threads: number,
  ) {
    const entry = new URL("./boosting-worker.mjs", import.meta.url);
    for (let index = 1; index < threads; index++) {
      const worker = new Worker(entry, { workerData: { ...memory, ctrl: this.ctrl, index } });
      worker.unref();
      worker.on("error", () => {
        Atomics.store(this.ctrl, CTRL_FAILED, 1);
        Atomics.notify(this.ctrl, CTRL_PENDING);
        Atomics.notify(this.ctrl, CTRL_READY);
      });
      this.workers.push(worker);
    }
  }

  get size(): number {
    return this.workers.length + 1;
  }

  /** Whether the helpers are up; waits for them the first time (false: run single-threaded). */
  usable(): boolean {
    if (this.ready) return Atomics.load(this.ctrl, CTRL_FAILED) === 0;
    const deadline = Date.now() + HELPER_TIMEOUT_MS;
    for (;;) {
      const up = Atomics.load(this.ctrl, CTRL_READY);
      if (up === this.workers.length || Atomics.load(this.ctrl, CTRL_FAILED) !== 0) break;
      if (Date.now() > deadline) return false;
      Atomics.wait(this.ctrl, CTRL_READY, up, 1_000);
    }
    this.ready = true;
    return Atomics.load(this.ctrl, CTRL_FAILED) === 0;
  }

  /**
   * Runs the job in memory.args on every thread and returns when its chunks are done; this thread's share
   * of a histogram job goes into `hist`. The caller checks `usable()` first.
   */
  run(hist: Float64Array): void {
    const { ctrl, memory } = this;
    Atomics.store(ctrl, CTRL_PENDING, this.workers.length);
    Atomics.add(ctrl, CTRL_GENERATION, 1);
    Atomics.notify(ctrl, CTRL_GENERATION);
    runJobPart(memory, hist);
    for (;;) {
      const pending = Atomics.load(ctrl, CTRL_PENDING);
      if (pending === 0) {
        this.jobs++;
        return;
      }
      if (Atomics.load(ctrl, CTRL_FAILED) !== 0) throw new Error("gbdt: a boosting thread failed");
      if (Atomics.wait(ctrl, CTRL_PENDING, pending, HELPER_TIMEOUT_MS) === "timed-out") {
        throw new Error(`gbdt: a boosting thread did not answer within ${HELPER_TIMEOUT_MS / 1000} s`);
      }
    }
  }

  close(): void {
    this.memory.args[ARG_JOB] = JOB_STOP;
    Atomics.add(this.ctrl, CTRL_GENERATION, 1);
    Atomics.notify(this.ctrl, CTRL_GENERATION);
    for (const worker of this.workers) void worker.terminate();
  }
}
