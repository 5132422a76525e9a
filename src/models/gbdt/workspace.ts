// The memory of one fit (rows, gradients, scores, histogram scratch) and the threads that share it: jobs
// of at least a threshold of rows run in parts on every thread, smaller ones on this thread alone.
import type { BinMapper } from "./binning.ts";
import { addHistogram } from "./histogram.ts";
import {
  ARG_BEGIN,
  ARG_CHUNKS,
  ARG_END,
  ARG_FEATURES,
  ARG_JOB,
  ARG_NEXT_CHUNK,
  ARG_SIZE,
  type BoostingMemory,
  chunkCount,
  FARG_G_SCALE,
  FARG_H_SCALE,
  FARG_SIZE,
  isHistogramJob,
  JOB_GRADIENTS,
  MAX_CHUNKS,
  runJobPart,
} from "./jobs.ts";
import type { GradientScales } from "./loss.ts";
import { BoostingThreads, PARALLEL_MIN_ROWS, sharedArray } from "./threads.ts";

const NO_HISTOGRAM = new Float64Array(0);

export class BoostingWorkspace {
  readonly memory: BoostingMemory;
  private readonly threads: BoostingThreads | null;

  /**
   * `bins` (column-major, rows × mapper's columns) must be on a SharedArrayBuffer for `threads` > 1 to
   * take effect; fits on fewer than PARALLEL_MIN_ROWS rows use one thread.
   */
  constructor(
    bins: Uint8Array,
    rows: number,
    mapper: BinMapper,
    y: Uint8Array,
    weights: Float64Array | null,
    threads: number,
    maxLeaves: number,
  ) {
    const cols = mapper.valueBins.length;
    const parallel = threads > 1 && rows >= PARALLEL_MIN_ROWS && bins.buffer instanceof SharedArrayBuffer;
    const helpers = parallel ? threads - 1 : 0;
    const f32 = (n: number) => (parallel ? sharedArray(Float32Array, n) : new Float32Array(n));
    const f64 = (n: number) => (parallel ? sharedArray(Float64Array, n) : new Float64Array(n));
    const i32 = (n: number) => (parallel ? sharedArray(Int32Array, n) : new Int32Array(n));
    const binOffset = i32(cols + 1);
    for (let f = 0; f < cols; f++) binOffset[f + 1] = binOffset[f] + mapper.valueBins[f] + 1;
    const histSize = binOffset[cols] * 3;
    const valueBins = i32(cols);
    valueBins.set(mapper.valueBins);
    const sharedY = parallel ? sharedArray(Uint8Array, rows) : y;
    if (parallel) sharedY.set(y.subarray(0, rows));
    let sharedWeights = new Float64Array(0);
    if (weights !== null) {
      sharedWeights = f64(rows);
      sharedWeights.set(weights.subarray(0, rows));
    }
    const features = i32(cols);
    for (let f = 0; f < cols; f++) features[f] = f;
    const leaves = Math.max(1, maxLeaves);
    this.memory = {
      bins,
      rows,
      grad: f32(rows),
      hess: f32(rows),
      binOffset,
      valueBins,
      rowIdx: i32(rows),
      og: f32(rows),
      oh: f32(rows),
      scratch: i32(rows),
      raw: f64(rows),
      y: sharedY,
      weights: sharedWeights,
      features,
      leafBegin: i32(leaves),
      leafEnd: i32(leaves),
      leafValue: f64(leaves),
      args: i32(ARG_SIZE),
      fargs: f64(FARG_SIZE),
      partLeft: i32(MAX_CHUNKS),
      slab: f64(histSize * helpers),
      histSize,
    };
    this.memory.args[ARG_FEATURES] = cols;
    this.threads = parallel ? new BoostingThreads(this.memory, threads) : null;
  }

  /**
   * Runs `job` over [begin, end) (rows or rowIdx positions): in chunks on every thread when it spans at
   * least `minRows`, else here alone in one chunk. A histogram job builds the node's histogram into
   * `hist`. Returns the number of chunks (a partition's join reads it).
   */
  run(job: number, begin: number, end: number, minRows: number, hist: Float64Array = NO_HISTOGRAM): number {
    const m = this.memory;
    m.args[ARG_JOB] = job;
    m.args[ARG_BEGIN] = begin;
    m.args[ARG_END] = end;
    m.args[ARG_NEXT_CHUNK] = 0;
    const t = this.threads;
    if (t !== null && end - begin >= minRows && t.usable()) {
      const chunks = chunkCount(end - begin, t.size);
      m.args[ARG_CHUNKS] = chunks;
      t.run(hist);
      if (isHistogramJob(job)) {
        const nf = m.args[ARG_FEATURES];
        for (let p = 1; p < t.size; p++) {
          addHistogram(m, hist, m.slab.subarray((p - 1) * m.histSize, p * m.histSize), m.features, nf);
        }
      }
      return chunks;
    }
    m.args[ARG_CHUNKS] = 1;
    runJobPart(m, hist);
    return 1;
  }

  /** Gradients and hessians of every row at the current raw scores. */
  gradients(scales: GradientScales): void {
    this.memory.fargs[FARG_G_SCALE] = scales.g;
    this.memory.fargs[FARG_H_SCALE] = scales.h;
    this.run(JOB_GRADIENTS, 0, this.memory.rows, PARALLEL_MIN_ROWS);
  }

  /** Stops the helper threads; returns how many threads ran jobs (1 = this one alone). */
  close(): number {
    const used = this.threads !== null && this.threads.jobs > 0 ? this.threads.size : 1;
    this.threads?.close();
    return used;
  }
}
