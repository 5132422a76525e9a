// `skipwise cache simulate`: the test period of a delivery replayed through a prefetching client under
// every policy (cache everything / nothing, the genre rule, each model at its threshold and over a sweep,
// partial prefetch, the oracle, bounded device caches) → cache.html + cache.json and a terminal summary.
import { resolve } from "node:path";
import { type Delivery, loadDelivery } from "../data/index.ts";
import { FEATURE_SCHEMA } from "../features/index.ts";
import { buildListens } from "../listens/index.ts";
import type { ListenTable } from "../listens/types.ts";
import { dataFingerprint, loadBundle } from "../models/bundle.ts";
import { buildDataset, type Dataset } from "../train/dataset.ts";
import { parseModelNames, trainModels } from "../train/pipeline.ts";
import { stageProgress } from "../train/progress.ts";
import { timeSplit } from "../train/split.ts";
import { deliveryFiles } from "../train/train-command.ts";
import { cacheInputsFromDataset, type ThresholdedModel } from "./inputs.ts";
import { DEFAULT_COSTS } from "./prefetch.ts";
import { cacheSummary, writeCacheReport } from "./report.ts";
import { simulateCache } from "./simulate.ts";
import type { CacheSimulation } from "./types.ts";

export const DEFAULT_BITRATE_KBPS = 160;
/** One on-device cache per user: roughly 25 and 120 four-minute tracks at 160 kbit/s. */
export const DEFAULT_CAPACITIES_MB = [100, 500];

export interface CacheCommandOptions {
  data: string;
  /** Bundle whose models score the test period; absent = train them here with the honest pipeline. */
  bundle?: string;
  out?: string;
  bitrateKbps?: number;
  /** Device cache capacities in MB (10^6 bytes); empty = no device-cache replay. */
  capacityMb?: number[];
  costWastePerMb?: number;
  costStall?: number;
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

/** Models whose decisions the simulator replays: the majority predictor is constant and the naive model is the genre rule policy. */
function isReplayedModel(name: string): boolean {
  return name !== "majority" && name !== "naive";
}

/** Rows (in time order) starting in [fromMs, toMs). */
function rowsBetween(startMs: Float64Array, fromMs: number, toMs: number): Int32Array {
  const rows: number[] = [];
  if (!Number.isFinite(fromMs)) return new Int32Array(0);
  for (let i = 0; i < startMs.length; i++) if (startMs[i] >= fromMs && startMs[i] < toMs) rows.push(i);
  return Int32Array.from(rows);
}

/** Rows (in time order) starting at or after `fromMs`. */
function rowsFrom(startMs: Float64Array, fromMs: number): Int32Array {
  const rows: number[] = [];
  for (let i = 0; i < startMs.length; i++) if (startMs[i] >= fromMs) rows.push(i);
  return Int32Array.from(rows);
}

function fromBundle(
  dir: string,
  delivery: Delivery,
  listens: ListenTable,
  warn: (line: string) => void,
): { dataset: Dataset; rows: Int32Array; models: ThresholdedModel[]; source: string } {
  const bundle = loadBundle(dir, { expectedSchema: FEATURE_SCHEMA });
  const { manifest } = bundle;
  if (manifest.dataFingerprint !== dataFingerprint(deliveryFiles(delivery))) {
    warn(
      `warning: bundle ${dir} was not trained on ${delivery.dir} (data fingerprints differ): its test period may overlap its training data`,
    );
  }
  const dataset = buildDataset(listens, delivery.catalog);
  const recorded = Date.parse(String(manifest.metrics.testStart ?? ""));
  const fromMs = Number.isFinite(recorded) ? recorded : timeSplit(dataset.startMs).testStartMs;
  const rows = rowsFrom(dataset.startMs, fromMs);
  if (rows.length === 0) {
    throw new Error(
      `bundle ${dir}: its test period (from ${new Date(fromMs).toISOString()}) holds no listens of ${delivery.dir}`,
    );
  }
  const models = Object.entries(bundle.models)
    .filter(([name]) => isReplayedModel(name))
    .map(([name, model]) => ({
      name,
      model,
      threshold: manifest.thresholds[name] ?? (name === manifest.defaultModel ? manifest.threshold : 0.5),
    }));
  return {
    dataset,
    rows,
    models,
    source: `${delivery.dir}, listens from ${new Date(fromMs).toISOString()}, models of bundle ${dir}`,
  };
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : "n/a";
}

/**
 * When the recommended point had to be this period's own lowest-cost point (chosen in hindsight), the
 * recommended model at the threshold chosen before the test period shows what it delivers honestly.
 */
export function chosenThresholdLines(simulation: CacheSimulation): string[] {
  const rec = simulation.recommended;
  if (!rec) return [];
  if (simulation.recommendedChosen === "beforehand") {
    return [
      "  (the recommended operating point was chosen on the validation period, before the test period, by the same costs)",
    ];
  }
  const atChosen = simulation.policies.find((p) => p.kind === "model" && p.model === rec.model);
  if (!atChosen) return [];
  return [
    `  (the recommended threshold is the test period's lowest-cost point, chosen in hindsight; at its threshold chosen on the validation period, ` +
      `${rec.model} @ ${atChosen.threshold?.toFixed(3)}: wasted ${pct(atChosen.wastedShare)}, missed ${pct(atChosen.missedShare)} ` +
      `(${atChosen.stalls} stalls), ${pct(atChosen.oracleSavingsShare)} of the oracle's savings)`,
  ];
}

function checkPositive(value: number, flag: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new Error(`${flag} must be a number > 0, got ${value}`);
  return value;
}

export async function runCacheSimulateCommand(options: CacheCommandOptions): Promise<CacheCommandResult> {
  const stdout = options.stdout ?? process.stdout;
  const bitrateKbps = checkPositive(options.bitrateKbps ?? DEFAULT_BITRATE_KBPS, "--bitrate-kbps");
  const capacities = (options.capacityMb ?? DEFAULT_CAPACITIES_MB).map((mb) =>
    checkPositive(mb, "--capacity-mb"),
  );
  const costs = {
    perWastedMB: options.costWastePerMb ?? DEFAULT_COSTS.perWastedMB,
    perStall: options.costStall ?? DEFAULT_COSTS.perStall,
  };
  if (!(costs.perWastedMB >= 0)) throw new Error(`--cost-waste-per-mb must be ≥ 0, got ${costs.perWastedMB}`);
  if (!(costs.perStall >= 0)) throw new Error(`--cost-stall must be ≥ 0, got ${costs.perStall}`);
  const progress = options.progress === false ? null : stageProgress();
  try {
    const delivery = await loadDelivery(resolve(options.data), {
      onProgress: (read, total) =>
        progress?.update("ingest", Math.round(read / 1e6), Math.round(total / 1e6)),
    });
    const listens = buildListens(delivery.events, delivery.catalog);
    let dataset: Dataset;
    let rows: Int32Array;
    let validationRows: Int32Array;
    let models: ThresholdedModel[];
    let source: string;
    if (options.bundle !== undefined) {
      if (options.models !== undefined)
        throw new Error("--models chooses what to train: leave it out with --bundle");
      progress?.update("features", 0, 1);
      ({ dataset, rows, models, source } = fromBundle(resolve(options.bundle), delivery, listens, (line) =>
        stdout.write(`${line}\n`),
      ));
      validationRows = rowsBetween(
        dataset.startMs,
        timeSplit(dataset.startMs).validationStartMs,
        dataset.startMs[rows[0]],
      );
    } else {
      const run = trainModels(listens, delivery.catalog, {
        models: options.models ? parseModelNames(options.models) : undefined,
        onProgress: progress?.update,
      });
      dataset = run.dataset;
      rows = run.split.test;
      validationRows = run.split.validation;
      models = run.fitted.filter((f) => isReplayedModel(f.name));
      source = `${delivery.dir}, test period from ${new Date(run.split.testStartMs).toISOString()} (last 20 % of listens), models trained here`;
    }
    progress?.update("simulate", 0, 1);
    const bitrate = (bitrateKbps * 1000) / 8;
    // The operating point is chosen on the period before the test period, then judged on the test period.
    const beforehand =
      validationRows.length > 0 && models.length > 0
        ? (() => {
            const earlier = cacheInputsFromDataset(dataset, delivery.catalog, validationRows, models);
            return simulateCache(earlier.listens, {
              models: earlier.models,
              bitrateBytesPerSecond: bitrate,
              costs,
            }).recommended;
          })()
        : undefined;
    const inputs = cacheInputsFromDataset(dataset, delivery.catalog, rows, models);
    const simulation = simulateCache(inputs.listens, {
      recommendAt: beforehand ? { model: beforehand.model, threshold: beforehand.threshold } : undefined,
      models: inputs.models,
      genreRuleSkip: inputs.genreRuleSkip,
      bitrateBytesPerSecond: bitrate,
      costs,
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
        ...chosenThresholdLines(simulation),
        `report: ${htmlPath}`,
        `json: ${jsonPath}`,
      ].join("\n")}\n`,
    );
    return { simulation, htmlPath, jsonPath, source };
  } finally {
    progress?.stop();
  }
}
