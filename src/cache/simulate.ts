// simulateCache: every prefetch policy over the replayed listens, the threshold sweep with its
// wasted-vs-missed frontier, the recommended operating point, and the bounded on-device cache replays.
import { replayDevice, timeOrder } from "./device/replay.ts";
import {
  cacheAllPlan,
  cacheNothingPlan,
  decisionPlan,
  oraclePlan,
  partialPlan,
  thresholdDecisions,
} from "./plans.ts";
import {
  accountPlan,
  DEFAULT_BITRATE_BYTES_PER_SECOND,
  DEFAULT_COSTS,
  policyResult,
  validateListens,
} from "./prefetch.ts";
import { sweepModel } from "./sweep.ts";
import type {
  CacheListen,
  CacheSimulation,
  DeviceResult,
  EvictionPolicyName,
  ModelScores,
  OperatingPoint,
  PolicyResult,
  SimulateOptions,
  SweepPoint,
} from "./types.ts";

export const DEFAULT_PARTIAL_PREFIX_MS = 10_000;

export function defaultSweepThresholds(steps = 100): number[] {
  return Array.from({ length: steps + 1 }, (_, i) => Math.round((i / steps) * 1e6) / 1e6);
}

function validateModels(models: readonly ModelScores[], n: number): void {
  for (const m of models) {
    if (m.pSkip.length !== n)
      throw new RangeError(`model "${m.name}": ${m.pSkip.length} scores for ${n} listens`);
    if (!Number.isFinite(m.threshold))
      throw new RangeError(`model "${m.name}": threshold must be a finite number`);
  }
  const names = models.map((m) => m.name);
  if (new Set(names).size !== names.length)
    throw new RangeError(`model names must be unique: ${names.join(", ")}`);
}

/** Marks the points of one model's sweep that no other point beats on both wasted and missed bytes. */
export function markFrontier(points: SweepPoint[]): void {
  const sorted = [...points].sort((a, b) => a.wastedBytes - b.wastedBytes || a.missedBytes - b.missedBytes);
  let bestMissed = Number.POSITIVE_INFINITY;
  for (const p of sorted) {
    p.onFrontier = p.missedBytes < bestMissed;
    if (p.onFrontier) bestMissed = p.missedBytes;
  }
}

function operatingPoint(p: SweepPoint): OperatingPoint {
  return {
    model: p.model,
    threshold: p.threshold,
    cost: p.cost,
    wastedShare: p.wastedShare,
    missedShare: p.missedShare,
    stalls: p.stalls,
    oracleSavingsShare: p.oracleSavingsShare,
  };
}

/** The sweep point of `at.model` whose threshold is nearest `at.threshold`. */
function pointNearest(
  sweep: readonly SweepPoint[],
  at: { model: string; threshold: number },
): OperatingPoint {
  let best: SweepPoint | undefined;
  for (const p of sweep) {
    if (p.model !== at.model) continue;
    if (!best || Math.abs(p.threshold - at.threshold) < Math.abs(best.threshold - at.threshold)) best = p;
  }
  if (!best) throw new RangeError(`recommendAt names model "${at.model}", which has no sweep`);
  return operatingPoint(best);
}

export function simulateCache(
  listens: readonly CacheListen[],
  options: SimulateOptions = {},
): CacheSimulation {
  validateListens(listens);
  const bitrate = options.bitrateBytesPerSecond ?? DEFAULT_BITRATE_BYTES_PER_SECOND;
  if (!(bitrate > 0)) throw new RangeError(`bitrate must be > 0 bytes/s, got ${bitrate}`);
  const costs = options.costs ?? DEFAULT_COSTS;
  const models = options.models ?? [];
  validateModels(models, listens.length);
  const prefixMs = options.partialPrefixMs ?? DEFAULT_PARTIAL_PREFIX_MS;

  const cacheAll = accountPlan(listens, cacheAllPlan(listens), bitrate);
  const oracle = accountPlan(listens, oraclePlan(listens), bitrate);
  const reference = { cacheAllWasted: cacheAll.wastedBytes, oracleWasted: oracle.wastedBytes };
  const result = (description: Parameters<typeof policyResult>[0], plan: Float64Array): PolicyResult =>
    policyResult(description, accountPlan(listens, plan, bitrate), reference, costs);

  const policies: PolicyResult[] = [
    policyResult({ name: "cache everything", kind: "cache-all" }, cacheAll, reference, costs),
    result({ name: "cache nothing (stream)", kind: "cache-nothing" }, cacheNothingPlan(listens)),
    policyResult({ name: "oracle", kind: "oracle" }, oracle, reference, costs),
  ];
  if (options.genreRuleSkip) {
    policies.push(
      result({ name: "naive genre rule", kind: "genre-rule" }, decisionPlan(listens, options.genreRuleSkip)),
    );
  }
  for (const m of models) {
    const skip = thresholdDecisions(m.pSkip, m.threshold);
    policies.push(
      result(
        {
          name: `${m.name} @ ${Number(m.threshold.toFixed(3))}`,
          kind: "model",
          model: m.name,
          threshold: m.threshold,
        },
        decisionPlan(listens, skip),
      ),
      result(
        {
          name: `${m.name} @ ${Number(m.threshold.toFixed(3))} + ${prefixMs / 1000} s prefix`,
          kind: "partial",
          model: m.name,
          threshold: m.threshold,
          prefixMs,
        },
        partialPlan(listens, skip, prefixMs),
      ),
    );
  }

  const thresholds = options.sweepThresholds ?? defaultSweepThresholds();
  const sweepReference = {
    ...reference,
    totalBytes: cacheAll.totalBytes,
    fullPlayBytes: cacheAll.fullPlayBytes,
    fullPlays: cacheAll.fullPlays,
  };
  const sweep: SweepPoint[] = [];
  const bestPerModel: OperatingPoint[] = [];
  for (const m of models) {
    const points = sweepModel(listens, m.name, m.pSkip, thresholds, bitrate, sweepReference, costs);
    markFrontier(points);
    sweep.push(...points);
    if (points.length > 0)
      bestPerModel.push(operatingPoint(points.reduce((a, b) => (b.cost < a.cost ? b : a))));
  }
  const chosenBefore = options.recommendAt ? pointNearest(sweep, options.recommendAt) : undefined;
  const recommended =
    chosenBefore ??
    (bestPerModel.length ? bestPerModel.reduce((a, b) => (b.cost < a.cost ? b : a)) : undefined);

  const device = options.device ? replayDevices(listens, options.device, models, bitrate) : [];
  return {
    listens: listens.length,
    bitrateBytesPerSecond: bitrate,
    costs,
    policies,
    sweep,
    bestPerModel,
    recommended,
    recommendedChosen: recommended ? (chosenBefore ? "beforehand" : "hindsight") : undefined,
    device,
  };
}

function replayDevices(
  listens: readonly CacheListen[],
  device: NonNullable<SimulateOptions["device"]>,
  models: readonly ModelScores[],
  bitrate: number,
): DeviceResult[] {
  const policies: EvictionPolicyName[] = device.policies ?? ["lru", "s3fifo", "wtinylfu"];
  const admissions: { name: string; admit?: Uint8Array }[] = [
    { name: "all" },
    ...models.map((m) => ({
      name: `skip-aware ${m.name} @ ${m.threshold}`,
      admit: thresholdDecisions(m.pSkip, m.threshold).map((skip) => 1 - skip),
    })),
    { name: "skip-aware oracle", admit: Uint8Array.from(listens, (l) => (l.skipped ? 0 : 1)) },
  ];
  const order = timeOrder(listens);
  const out: DeviceResult[] = [];
  for (const capacityBytes of device.capacitiesBytes) {
    if (!(capacityBytes > 0)) throw new RangeError(`cache capacity must be > 0 bytes, got ${capacityBytes}`);
    for (const policy of policies) {
      for (const a of admissions) {
        out.push(
          replayDevice(listens, {
            policy,
            capacityBytes,
            bitrateBytesPerSecond: bitrate,
            admit: a.admit,
            admissionName: a.name,
            order,
          }),
        );
      }
    }
  }
  return out;
}
