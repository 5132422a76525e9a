// The work a boosting round splits over threads, as one dispatch that the grower's thread and its helpers
// (threads.ts) both call. A job's rows (or positions) are cut into chunks that the threads take in turn
// from a shared counter, so a thread that started late or runs slower takes fewer: nobody waits for a fixed
// half. Every job reads its arguments from shared slots, so a helper needs nothing but the memory it was
// started with.
import {
  type HistogramInputs,
  histogramChunk,
  KERNEL_COUNTED,
  KERNEL_NODE,
  KERNEL_ROOT,
  zeroFeatures,
} from "./histogram.ts";
import { type GradientScales, logisticGradients } from "./loss.ts";
import { partitionPart, type SplitRule } from "./partition.ts";

export const JOB_STOP = -1;
export const JOB_ROOT_HISTOGRAM = KERNEL_ROOT;
export const JOB_NODE_HISTOGRAM = KERNEL_NODE;
export const JOB_COUNTED_HISTOGRAM = KERNEL_COUNTED;
export const JOB_PARTITION = 3;
export const JOB_GRADIENTS = 4;
export const JOB_LEAVES = 5;

// Integer argument slots.
export const ARG_JOB = 0;
export const ARG_BEGIN = 1;
export const ARG_END = 2;
export const ARG_FEATURES = 3;
export const ARG_SPLIT_FEATURE = 4;
export const ARG_SPLIT_BIN = 5;
export const ARG_MISSING_BIN = 6;
export const ARG_MISSING_LEFT = 7;
export const ARG_LEAVES = 8;
/** Chunks of the job, and the next one to take (taken with Atomics.add). */
export const ARG_CHUNKS = 9;
export const ARG_NEXT_CHUNK = 10;
export const ARG_SIZE = 11;
// Float argument slots.
export const FARG_G_SCALE = 0;
export const FARG_H_SCALE = 1;
export const FARG_SIZE = 2;

/** Most chunks per job (partLeft holds one count per chunk). */
export const MAX_CHUNKS = 64;
/** Fewest rows per chunk: below this the counter costs more than the balance buys. */
const MIN_CHUNK_ROWS = 4_096;
/** Chunks per thread aimed at: enough for the balance to even out. */
const CHUNKS_PER_THREAD = 8;

/** How many chunks a job of n rows on `threads` threads is cut into. */
export function chunkCount(n: number, threads: number): number {
  if (threads <= 1) return 1;
  return Math.max(1, Math.min(MAX_CHUNKS, threads * CHUNKS_PER_THREAD, Math.floor(n / MIN_CHUNK_ROWS)));
}

/** Whether the job builds a histogram (each thread into its own, added up by the grower). */
export function isHistogramJob(job: number): boolean {
  return job === JOB_ROOT_HISTOGRAM || job === JOB_NODE_HISTOGRAM || job === JOB_COUNTED_HISTOGRAM;
}

/** Everything a job reads or writes: on SharedArrayBuffers when there are helper threads. */
export interface BoostingMemory extends HistogramInputs {
  /** Right rows of a partition part, by position. */
  scratch: Int32Array;
  /** Raw scores (log-odds) per row. */
  raw: Float64Array;
  y: Uint8Array;
  /** Row weights; empty = all 1. */
  weights: Float64Array;
  /** Active features: the first args[ARG_FEATURES]. */
  features: Int32Array;
  /** The last tree's leaves: positions [leafBegin, leafEnd) of rowIdx get leafValue (args[ARG_LEAVES] of them). */
  leafBegin: Int32Array;
  leafEnd: Int32Array;
  leafValue: Float64Array;
  args: Int32Array;
  fargs: Float64Array;
  /** Per chunk: left rows of a partition. */
  partLeft: Int32Array;
  /** One histogram per helper thread (helper p writes slot p − 1). */
  slab: Float64Array;
  histSize: number;
}

/** Part (or chunk) p of P of [begin, end): [from, to). */
export function partRange(p: number, parts: number, begin: number, end: number): [number, number] {
  const n = end - begin;
  return [begin + Math.floor((p * n) / parts), begin + Math.floor(((p + 1) * n) / parts)];
}

const rule: SplitRule = { feature: 0, bin: 0, missingBin: 0, missingLeft: false };
const scales: GradientScales = { g: 1, h: 1 };

/**
 * Takes chunks of the job in m.args until none is left and runs them; a histogram job adds its chunks'
 * rows into `hist` (this thread's, zeroed first: the grower adds the threads' histograms up).
 */
export function runJobPart(m: BoostingMemory, hist: Float64Array): void {
  const { args } = m;
  const job = args[ARG_JOB];
  const chunks = args[ARG_CHUNKS];
  const begin = args[ARG_BEGIN];
  const end = args[ARG_END];
  const histogram = isHistogramJob(job);
  if (histogram) zeroFeatures(m, hist, m.features, 0, args[ARG_FEATURES]);
  if (job === JOB_PARTITION) {
    rule.feature = args[ARG_SPLIT_FEATURE];
    rule.bin = args[ARG_SPLIT_BIN];
    rule.missingBin = args[ARG_MISSING_BIN];
    rule.missingLeft = args[ARG_MISSING_LEFT] === 1;
  } else if (job === JOB_GRADIENTS) {
    scales.g = m.fargs[FARG_G_SCALE];
    scales.h = m.fargs[FARG_H_SCALE];
  }
  const weights = m.weights.length > 0 ? m.weights : null;
  for (;;) {
    const c = Atomics.add(args, ARG_NEXT_CHUNK, 1);
    if (c >= chunks) return;
    const [from, to] = partRange(c, chunks, begin, end);
    if (histogram) histogramChunk(job, m, hist, m.features, args[ARG_FEATURES], from, to);
    else if (job === JOB_PARTITION)
      m.partLeft[c] = partitionPart(m.bins, m.rows, m.rowIdx, m.scratch, rule, from, to);
    else if (job === JOB_GRADIENTS) logisticGradients(m.raw, m.y, weights, m.grad, m.hess, from, to, scales);
    else if (job === JOB_LEAVES) addLeafValuesPart(m, from, to);
  }
}

/** raw[rowIdx[k]] += the value of k's leaf, for positions k in [from, to). */
function addLeafValuesPart(m: BoostingMemory, from: number, to: number): void {
  const { raw, rowIdx, leafBegin, leafEnd, leafValue } = m;
  const leaves = m.args[ARG_LEAVES];
  for (let l = 0; l < leaves; l++) {
    const a = Math.max(from, leafBegin[l]);
    const b = Math.min(to, leafEnd[l]);
    const v = leafValue[l];
    for (let k = a; k < b; k++) raw[rowIdx[k]] += v;
  }
}
