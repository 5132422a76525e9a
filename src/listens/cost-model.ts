// The one cost model of skipwise: what a prefetch decision costs once the listen's outcome is known.
// Training thresholds, the operating-point choice, the served decision, the cache simulator, the reports
// and the demo all price decisions with it, under one set of names (wastePerMb, stall, bitrateKbps).
//
// A listen is either prefetched whole before it starts or streamed on demand:
// - prefetched and skipped: the audio after the skip point was downloaded for nothing, wastePerMb per MB;
// - streamed and played to the end: playback had to fetch the track while playing (a stall), `stall`;
// - prefetched and played out, or streamed and skipped: no cost.
// MB = 10^6 bytes; the bitrate turns milliseconds into bytes: bytes = ms × kbps × 1000 / 8 / 1000.

export interface CostModel {
  /** Cost of one MB (10^6 bytes) downloaded ahead and never played. */
  wastePerMb: number;
  /** Cost of one full play that was not prefetched (an audible interruption). */
  stall: number;
  /** Audio bitrate in kbit/s (1 kbit = 1000 bits), to turn heard milliseconds into bytes. */
  bitrateKbps: number;
}

/**
 * Defaults and their reasoning. A 4-minute track at 160 kbit/s is 4.8 MB. A stall is an audible
 * interruption of a track the listener wanted to hear; we value it like wasting about 4 MB, a bit under
 * one whole prefetched track. So not prefetching a track pays only when the model is fairly sure it will
 * be skipped early: a skip at 30 s of a 4-minute track wastes 4.2 MB when prefetched, while a wrong
 * "skip" costs 4, so the threshold on P(skip) sits near 4 / (4 + 4.2) ≈ 0.5 for such tracks and higher
 * for tracks usually skipped late.
 */
export const DEFAULT_COST_MODEL: Readonly<CostModel> = Object.freeze({
  wastePerMb: 1,
  stall: 4,
  bitrateKbps: 160,
});

/** The cost model as command-line flags give it (`--cost-waste-per-mb`, `--cost-stall`, `--bitrate-kbps`). */
export interface CostFlags {
  costWastePerMb?: number;
  costStall?: number;
  bitrateKbps?: number;
}

/** The cost model of the command-line flags, each missing one taken from DEFAULT_COST_MODEL. */
export function costModelFromFlags(flags: CostFlags): CostModel {
  return {
    wastePerMb: flags.costWastePerMb ?? DEFAULT_COST_MODEL.wastePerMb,
    stall: flags.costStall ?? DEFAULT_COST_MODEL.stall,
    bitrateKbps: flags.bitrateKbps ?? DEFAULT_COST_MODEL.bitrateKbps,
  };
}

const FIELDS = ["wastePerMb", "stall", "bitrateKbps"] as const;

/** Throws an Error naming `where` and the field when a cost model cannot price decisions. */
export function validateCostModel(c: CostModel, where: string): CostModel {
  if (c === null || typeof c !== "object") throw new Error(`${where}: the cost model is missing`);
  for (const field of FIELDS) {
    const v = c[field];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new Error(`${where}: cost model field "${field}" must be a finite number >= 0, got ${String(v)}`);
    }
  }
  if (!(c.bitrateKbps > 0)) throw new Error(`${where}: cost model field "bitrateKbps" must be > 0, got 0`);
  if (c.wastePerMb === 0 && c.stall === 0) {
    throw new Error(`${where}: cost model fields "wastePerMb" and "stall" are both 0: nothing to minimise`);
  }
  return c;
}

/** A copy holding only the three fields (for manifests and reports). */
export function costModelOf(c: CostModel): CostModel {
  return { wastePerMb: c.wastePerMb, stall: c.stall, bitrateKbps: c.bitrateKbps };
}

export function sameCostModel(a: CostModel, b: CostModel): boolean {
  return a.wastePerMb === b.wastePerMb && a.stall === b.stall && a.bitrateKbps === b.bitrateKbps;
}

/** "1 per wasted MB, 4 per stall, 160 kbit/s". */
export function describeCostModel(c: CostModel): string {
  return `${c.wastePerMb} per wasted MB, ${c.stall} per stall, ${c.bitrateKbps} kbit/s`;
}

/** Bytes per millisecond of audio. */
export function bytesPerMs(c: CostModel): number {
  return c.bitrateKbps / 8;
}

/** Bytes of `ms` milliseconds of audio. */
export function bytesOfMs(ms: number, c: CostModel): number {
  return ms * bytesPerMs(c);
}

/** Total cost of a policy's outcome: wastePerMb × wasted MB + stall × stalls. */
export function costOf(wastedBytes: number, stalls: number, c: CostModel): number {
  return (c.wastePerMb * wastedBytes) / 1e6 + c.stall * stalls;
}

/**
 * Milliseconds of a whole prefetched track never played: duration − heard for a skip (heard capped to
 * [0, duration]; an unknown heard time counts as 0), 0 for a full play or an unknown duration.
 */
export function wastedMsIfPrefetched(skipped: boolean, durationMs: number, heardMs: number): number {
  if (!skipped || !(Number.isFinite(durationMs) && durationMs > 0)) return 0;
  const heard = Number.isFinite(heardMs) ? Math.min(Math.max(heardMs, 0), durationMs) : 0;
  return durationMs - heard;
}

/** Cost of a listen that was prefetched whole: the wasted MB of a skip, 0 for a full play. */
export function prefetchCost(skipped: boolean, durationMs: number, heardMs: number, c: CostModel): number {
  return (c.wastePerMb * bytesOfMs(wastedMsIfPrefetched(skipped, durationMs, heardMs), c)) / 1e6;
}

/** Cost of a listen that was not prefetched: a stall for a full play, 0 for a skip. */
export function streamCost(skipped: boolean, c: CostModel): number {
  return skipped ? 0 : c.stall;
}

/** Per-listen costs of the two decisions, row-aligned with the listens they were computed for. */
export interface ListenCosts {
  /** Cost if the listen is prefetched whole (waste). */
  prefetch: Float64Array;
  /** Cost if it is not prefetched (stall). */
  stream: Float64Array;
}

/** `prefetchCost` of every listen (`skipped[i]` = 1 for a skip). */
export function prefetchCosts(
  skipped: ArrayLike<number>,
  durationMs: ArrayLike<number>,
  heardMs: ArrayLike<number>,
  c: CostModel,
): Float64Array {
  const n = skipped.length;
  if (durationMs.length !== n || heardMs.length !== n) {
    throw new RangeError(
      `prefetchCosts: ${n} outcomes, ${durationMs.length} durations and ${heardMs.length} heard times`,
    );
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = prefetchCost(skipped[i] === 1, durationMs[i], heardMs[i], c);
  return out;
}

/** `streamCost` of every listen. */
export function streamCosts(skipped: ArrayLike<number>, c: CostModel): Float64Array {
  const out = new Float64Array(skipped.length);
  for (let i = 0; i < skipped.length; i++) out[i] = streamCost(skipped[i] === 1, c);
  return out;
}

/** Both per-listen costs of a set of listens. */
export function listenCosts(
  skipped: ArrayLike<number>,
  durationMs: ArrayLike<number>,
  heardMs: ArrayLike<number>,
  c: CostModel,
): ListenCosts {
  return { prefetch: prefetchCosts(skipped, durationMs, heardMs, c), stream: streamCosts(skipped, c) };
}
