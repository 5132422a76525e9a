// simulateCache: every prefetch policy over the replayed listens with its net saving over caching
// everything (user-bootstrap interval), the policy recommended before this period (given, never chosen
// here), the threshold sweep with its wasted-vs-missed frontier, and the bounded on-device cache replays.
import { DEFAULT_COST_MODEL, validateCostModel } from "../listens/cost-model.ts";
import { GENRE_RULE_MODEL } from "../models/registry.ts";
import { BOOTSTRAP_NOTE, DEFAULT_BOOTSTRAP_REPLICATES } from "../train/policy-choice.ts";
import { replayDevice, timeOrder } from "./device/replay.ts";
import {
  cacheAllPlan,
  cacheNothingPlan,
  decisionPlan,
  oraclePlan,
  partialPlan,
  thresholdDecisions,
} from "./plans.ts";
import { accountPlan, type PolicyReference, planCosts, policyResult, validateListens } from "./prefetch.ts";
import { sweepModel } from "./sweep.ts";
import type {
  CacheListen,
  CacheSimulation,
  DeviceResult,
  EvictionPolicyName,
  ModelScores,
  OperatingPoint,
  PolicyResult,
  RecommendedPolicy,
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
    saving: p.saving,
    share: p.share,
    wastedShare: p.wastedShare,
    missedShare: p.missedShare,
    stalls: p.stalls,
  };
}

/** The result of the recommended policy among `policies` (the genre-rule model is the genre-rule policy). */
function recommendedResult(policies: readonly PolicyResult[], rec: RecommendedPolicy): PolicyResult {
  let found: PolicyResult | undefined;
  if (rec.kind === "model") {
    found =
      rec.model === GENRE_RULE_MODEL
        ? policies.find((p) => p.kind === "genre-rule")
        : policies.find((p) => p.kind === "model" && p.model === rec.model);
    if (
      found &&
      rec.threshold !== null &&
      found.threshold !== undefined &&
      found.threshold !== rec.threshold
    ) {
      throw new RangeError(
        `the recommended policy serves ${rec.model} at ${rec.threshold}, but its scores come with threshold ${found.threshold}`,
      );
    }
  } else {
    found = policies.find((p) => p.kind === rec.kind);
  }
  if (!found)
    throw new RangeError(`the recommended policy names model "${rec.model}", which has no scores here`);
  return found;
}

export function simulateCache(
  listens: readonly CacheListen[],
  options: SimulateOptions = {},
): CacheSimulation {
  validateListens(listens);
  const costModel = validateCostModel(options.costModel ?? DEFAULT_COST_MODEL, "cache simulation");
  const kbps = costModel.bitrateKbps;
  const bitrate = (kbps * 1000) / 8;
  const models = options.models ?? [];
  validateModels(models, listens.length);
  const prefixMs = options.partialPrefixMs ?? DEFAULT_PARTIAL_PREFIX_MS;

  const allPlan = cacheAllPlan(listens);
  const oracleP = oraclePlan(listens);
  const cacheAll = accountPlan(listens, allPlan, kbps);
  const bootstrap = options.bootstrap ?? {};
  const reference: PolicyReference = {
    cacheAllWasted: cacheAll.wastedBytes,
    cacheAllCosts: planCosts(listens, allPlan, costModel),
    oracleCosts: planCosts(listens, oracleP, costModel),
    userId: Int32Array.from(listens, (l) => l.userId),
    bootstrap,
  };
  const result = (description: Parameters<typeof policyResult>[0], plan: Float64Array): PolicyResult =>
    policyResult(
      description,
      accountPlan(listens, plan, kbps),
      planCosts(listens, plan, costModel),
      reference,
      costModel,
    );

  const policies: PolicyResult[] = [
    result({ name: "cache everything", kind: "cache-all" }, allPlan),
    result({ name: "cache nothing (stream)", kind: "cache-nothing" }, cacheNothingPlan(listens)),
    result({ name: "oracle", kind: "oracle" }, oracleP),
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
  const [allResult, , oracleResult] = policies;
  const sweepReference = {
    cacheAllCost: allResult.cost,
    oracleCost: oracleResult.cost,
    totalBytes: cacheAll.totalBytes,
    fullPlayBytes: cacheAll.fullPlayBytes,
    fullPlays: cacheAll.fullPlays,
  };
  const sweep: SweepPoint[] = [];
  const bestPerModel: OperatingPoint[] = [];
  for (const m of models) {
    const points = sweepModel(listens, m.name, m.pSkip, thresholds, sweepReference, costModel);
    markFrontier(points);
    sweep.push(...points);
    if (points.length > 0)
      bestPerModel.push(operatingPoint(points.reduce((a, b) => (b.cost < a.cost ? b : a))));
  }
  const recommended = options.recommend ? recommendedResult(policies, options.recommend) : undefined;

  const device = options.device ? replayDevices(listens, options.device, models, bitrate) : [];
  return {
    listens: listens.length,
    users: allResult.users,
    costModel: { ...costModel },
    interval: {
      method: BOOTSTRAP_NOTE,
      level: bootstrap.level ?? 0.95,
      replicates: bootstrap.replicates ?? DEFAULT_BOOTSTRAP_REPLICATES,
    },
    policies,
    sweep,
    bestPerModel,
    recommendation: options.recommend ? { ...options.recommend } : undefined,
    recommended,
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
