// Histograms on every core: the grower's thread and helper threads each build the bins of one contiguous
// group of features into the same shared histogram. The grower blocks on Atomics.wait while its helpers
// finish (a histogram is needed before the next split can be chosen), so the fit stays synchronous, and
// each bin is still summed in row order by one thread: the fit is identical to a single-threaded one.
import { Worker } from "node:worker_threads";
import { type HistogramInputs, runKernel } from "./histogram.ts";

/** Control slots shared with the helpers. */
export const CTRL_GENERATION = 0;
export const CTRL_PENDING = 1;
export const CTRL_KIND = 2;
export const CTRL_HIST = 3;
export const CTRL_BEGIN = 4;
export const CTRL_END = 5;
export const CTRL_FEATURES = 6;
export const CTRL_READY = 7;
export const CTRL_FAILED = 8;
const CTRL_SIZE = 9;
export const KIND_STOP = -1;

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

/** Feature group g of G over nf features: [from, to). */
export function featureGroup(g: number, groups: number, nf: number): [number, number] {
  return [Math.floor((g * nf) / groups), Math.floor(((g + 1) * nf) / groups)];
}

export class HistogramThreads {
  readonly slab: Float64Array;
  private readonly ctrl = sharedArray(Int32Array, CTRL_SIZE);
  private readonly featureList: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly free: number[] = [];
  private ready = false;
  /** Histograms built with the helpers so far. */
  jobs = 0;

  /** `inputs` must live on SharedArrayBuffers; `slots` histograms of `histSize` doubles are shared. */
  constructor(
    private readonly inputs: HistogramInputs,
    cols: number,
    private readonly histSize: number,
    slots: number,
    threads: number,
  ) {
    this.slab = sharedArray(Float64Array, histSize * slots);
    for (let s = slots - 1; s >= 0; s--) this.free.push(s);
    this.featureList = sharedArray(Int32Array, cols);
    const entry = new URL("./histogram-worker.mjs", import.meta.url);
    for (let index = 1; index < threads; index++) {
      const worker = new Worker(entry, {
        workerData: {
          ...inputs,
          ctrl: this.ctrl,
          featureList: this.featureList,
          slab: this.slab,
          histSize,
          index,
          threads,
        },
      });
      worker.unref();
      worker.on("error", () => {
        Atomics.store(this.ctrl, CTRL_FAILED, 1);
        Atomics.notify(this.ctrl, CTRL_PENDING);
        Atomics.notify(this.ctrl, CTRL_READY);
      });
      this.workers.push(worker);
    }
  }

  /** A shared histogram buffer, or null when all slots are taken (the caller then uses a private one). */
  take(): Float64Array | null {
    const slot = this.free.pop();
    return slot === undefined ? null : this.slab.subarray(slot * this.histSize, (slot + 1) * this.histSize);
  }

  release(hist: Float64Array): void {
    if (this.owns(hist)) this.free.push(hist.byteOffset / 8 / this.histSize);
  }

  owns(hist: Float64Array): boolean {
    return hist.buffer === this.slab.buffer;
  }

  /** Whether the helpers are up; waits for them the first time (false: run single-threaded). */
  private usable(): boolean {
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

  /** Builds `hist` (a shared buffer) for rows [begin, end) with the helpers; false if they are not usable. */
  run(kind: number, hist: Float64Array, features: Int32Array, begin: number, end: number): boolean {
    if (!this.owns(hist) || !this.usable()) return false;
    const ctrl = this.ctrl;
    const nf = features.length;
    this.featureList.set(features);
    ctrl[CTRL_KIND] = kind;
    ctrl[CTRL_HIST] = hist.byteOffset / 8;
    ctrl[CTRL_BEGIN] = begin;
    ctrl[CTRL_END] = end;
    ctrl[CTRL_FEATURES] = nf;
    Atomics.store(ctrl, CTRL_PENDING, this.workers.length);
    Atomics.add(ctrl, CTRL_GENERATION, 1);
    Atomics.notify(ctrl, CTRL_GENERATION);
    const [from, to] = featureGroup(0, this.workers.length + 1, nf);
    runKernel(kind, this.inputs, hist, features, from, to, begin, end);
    for (;;) {
      const pending = Atomics.load(ctrl, CTRL_PENDING);
      if (pending === 0) {
        this.jobs++;
        return true;
      }
      if (Atomics.load(ctrl, CTRL_FAILED) !== 0) throw new Error("gbdt: a histogram thread failed");
      if (Atomics.wait(ctrl, CTRL_PENDING, pending, HELPER_TIMEOUT_MS) === "timed-out") {
        throw new Error(`gbdt: a histogram thread did not answer within ${HELPER_TIMEOUT_MS / 1000} s`);
      }
    }
  }

  get size(): number {
    return this.workers.length + 1;
  }

  close(): void {
    Atomics.store(this.ctrl, CTRL_KIND, KIND_STOP);
    Atomics.add(this.ctrl, CTRL_GENERATION, 1);
    Atomics.notify(this.ctrl, CTRL_GENERATION);
    for (const worker of this.workers) void worker.terminate();
  }
}
