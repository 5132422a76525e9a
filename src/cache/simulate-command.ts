// `skipwise cache simulate`: the test period of a delivery replayed through a prefetching client under
// every policy (cache everything / nothing, the genre rule, each model at its threshold and over a sweep,
// partial prefetch, the oracle, bounded device caches) → cache.html + cache.json and a terminal summary.
// The recommendation is never chosen here: it is the policy chosen on the validation period, by the
// training run (without a bundle) or recorded in the bundle's manifest.
import { resolve } from "node:path";
import { stageProgress } from "../base/progress.ts";
import { loadDelivery } from "../data/index.ts";
import { type CostModel, costModelFromFlags } from "../listens/cost-model.ts";
import { buildListens } from "../listens/index.ts";
import { parseModelNames } from "../models/registry.ts";
import type { TrainingDataset } from "../train/pipeline.ts";
import { trainModels } from "../train/pipeline.ts";
import { bundleCostModel, fromBundle, isReplayedModel } from "./bundle-source.ts";
import { cacheInputsFromDataset, type ThresholdedModel } from "./inputs.ts";
import { cacheSummary, writeCacheReport } from "./report.ts";
import { simulateCache } from "./simulate.ts";
import type { CacheSimulation, RecommendedPolicy } from "./types.ts";

/** One on-device cache per user: roughly 25 and 120 four-minute tracks at 160 kbit/s. */
export const DEFAULT_CAPACITIES_MB = [100, 500];

export interface CacheCommandOptions {
  data: string;
  /** Bundle whose models score the test period; absent = train them here with the honest pipeline. */
  bundle?: string;
  out?: string;
  /**
   * Cost model flags. Without a bundle, a missing one takes DEFAULT_COST_MODEL's value; with a bundle, the
   * bundle's recorded cost model is used and a flag that differs from it is refused.
   */
  bitrateKbps?: number;
  costWastePerMb?: number;
  costStall?: number;
  /** Device cache capacities in MB (10^6 bytes); empty = no device-cache replay. */
  capacityMb?: number[];
  /** Without a bundle: comma-separated subset of the models to train (default all). */
  models?: string;
  stdout?: NodeJS.WritableStream;
  /** Per-stage progress (default: a bar on a TTY stderr, else one line per stage). */
  progress?: boolean;
}

export interface CacheCommandResult {
  simulation: CacheSimulation;
  htmlPath: string;
  jsonPath: string;
  /** Where the models came from and which rows were replayed. */
  source: string;
}

function checkPositive(value: number, flag: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new Error(`${flag} must be a number > 0, got ${value}`);
  return value;
}

export async function runCacheSimulateCommand(options: CacheCommandOptions): Promise<CacheCommandResult> {
  const stdout = options.stdout ?? process.stdout;
  if (options.bitrateKbps !== undefined) checkPositive(options.bitrateKbps, "--bitrate-kbps");
  const capacities = (options.capacityMb ?? DEFAULT_CAPACITIES_MB).map((mb) =>
    checkPositive(mb, "--capacity-mb"),
  );
  for (const [flag, value] of [
    ["--cost-waste-per-mb", options.costWastePerMb],
    ["--cost-stall", options.costStall],
  ] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0))
      throw new Error(`${flag} must be a number ≥ 0, got ${value}`);
  }
  const progress = options.progress === false ? null : stageProgress();
  try {
    const delivery = await loadDelivery(resolve(options.data), {
      onProgress: progress?.megabytes("ingest"),
    });
    const listens = buildListens(delivery.events, delivery.catalog);
    let dataset: TrainingDataset;
    let rows: Int32Array;
    let models: ThresholdedModel[];
    let source: string;
    let recommend: RecommendedPolicy;
    let costModel: CostModel;
    if (options.bundle !== undefined) {
      if (options.models !== undefined)
        throw new Error("--models chooses what to train: leave it out with --bundle");
      progress?.update("features", 0, 1);
      const fromDir = fromBundle(resolve(options.bundle), delivery, listens, (line) =>
        stdout.write(`${line}\n`),
      );
      ({ dataset, rows, models, source, recommend } = fromDir);
      costModel = bundleCostModel(fromDir.costModel, options);
    } else {
      costModel = costModelFromFlags(options);
      const run = trainModels(listens, delivery.catalog, {
        events: delivery.events,
        models: options.models ? parseModelNames(options.models) : undefined,
        costModel,
        onProgress: progress?.update,
      });
      dataset = run.dataset;
      rows = run.split.test;
      models = run.fitted.filter((f) => isReplayedModel(f.name));
      recommend = {
        kind: run.policy.kind,
        model: run.policy.model,
        threshold: run.policy.threshold,
        reason: run.policy.reason,
      };
      source = `${delivery.dir}, test period from ${new Date(run.split.testStartMs).toISOString()} (last 20 % of listens), models trained here`;
    }
    progress?.update("simulate", 0, 1);
    const inputs = cacheInputsFromDataset(dataset, delivery.catalog, rows, models);
    const simulation = simulateCache(inputs.listens, {
      recommend,
      models: inputs.models,
      genreRuleSkip: inputs.genreRuleSkip,
      costModel,
      device: capacities.length > 0 ? { capacitiesBytes: capacities.map((mb) => mb * 1e6) } : undefined,
    });
    progress?.update("report", 0, 1);
    const out = resolve(options.out ?? "out/cache");
    const { htmlPath, jsonPath } = await writeCacheReport(simulation, out, {
      source,
      generatedAt: new Date().toISOString(),
    });
    progress?.stop();
    stdout.write(
      `${[
        `cache simulation of ${simulation.listens.toLocaleString("en-US")} listens (${source})`,
        ...cacheSummary(simulation),
        `report: ${htmlPath}`,
        `json: ${jsonPath}`,
      ].join("\n")}\n`,
    );
    return { simulation, htmlPath, jsonPath, source };
  } finally {
    progress?.stop();
  }
}
