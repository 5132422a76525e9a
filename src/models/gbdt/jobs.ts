// The work a boosting round splits over threads, as one dispatch that the grower's thread and its helpers
// (threads.ts) both call: part p of P takes the p-th contiguous share of the rows or positions. Every job
// reads its arguments from shared slots, so a helper needs nothing but the memory it was started with.
import {
  type HistogramInputs,
  histogramPart,
  KERNEL_COUNTED,
  KERNEL_NODE,
  KERNEL_ROOT,
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
export const ARG_PARTS = 1;
export const ARG_BEGIN = 2;
export const ARG_END = 3;
export const ARG_FEATURES = 4;
export const ARG_SPLIT_FEATURE = 5;
export const ARG_SPLIT_BIN = 6;
export const ARG_MISSING_BIN = 7;
export const ARG_MISSING_LEFT = 8;
export const ARG_LEAVES = 9;
export const ARG_SIZE = 10;
// Float argument slots.
export const FARG_G_SCALE = 0;
export const FARG_H_SCALE = 1;
export const FARG_SIZE = 2;

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
  /** Per part: left rows of a partition. */
  partLeft: Int32Array;
  /** One histogram per helper thread (helper p writes slot p − 1). */
  slab: Float64Array;
  histSize: number;
}

/** Part p of P of [begin, end): [from, to). */
export function partRange(p: number, parts: number, begin: number, end: number): [number, number] {
  const n = end - begin;
  return [begin + Math.floor((p * n) / parts), begin + Math.floor(((p + 1) * n) / parts)];
}

const rule: SplitRule = { feature: 0, bin: 0, missingBin: 0, missingLeft: false };
const scales: GradientScales = { g: 1, h: 1 };

/** Runs part p of the job in m.args; histogram jobs write into `hist` (zeroed first). */
export function runJobPart(m: BoostingMemory, p: number, hist: Float64Array): void {
  const { args } = m;
  const job = args[ARG_JOB];
  const parts = args[ARG_PARTS];
  const [from, to] = partRange(p, parts, args[ARG_BEGIN], args[ARG_END]);
  if (job === JOB_ROOT_HISTOGRAM || job === JOB_NODE_HISTOGRAM || job === JOB_COUNTED_HISTOGRAM) {
    histogramPart(job, m, hist, m.features, args[ARG_FEATURES], from, to);
  } else if (job === JOB_PARTITION) {
    rule.feature = args[ARG_SPLIT_FEATURE];
    rule.bin = args[ARG_SPLIT_BIN];
    rule.missingBin = args[ARG_MISSING_BIN];
    rule.missingLeft = args[ARG_MISSING_LEFT] === 1;
    m.partLeft[p] = partitionPart(m.bins, m.rows, m.rowIdx, m.scratch, rule, from, to);
  } else if (job === JOB_GRADIENTS) {
    scales.g = m.fargs[FARG_G_SCALE];
    scales.h = m.fargs[FARG_H_SCALE];
    const weights = m.weights.length > 0 ? m.weights : null;
    logisticGradients(m.raw, m.y, weights, m.grad, m.hess, from, to, scales);
  } else if (job === JOB_LEAVES) {
    addLeafValuesPart(m, from, to);
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
