import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { z } from "zod";
import { type CostModel, validateCostModel } from "../listens/cost-model.ts";
import { modelFromJSON } from "./index.ts";
import type { Model, ModelJSON, SkipModel } from "./types.ts";

/** Bumped whenever the bundle layout or manifest fields change incompatibly. */
export const BUNDLE_FORMAT_VERSION = 1;

export interface FeatureSchemaRef {
  version: string;
  names: readonly string[];
}

const costModelSchema = z.object({ wastePerMb: z.number(), stall: z.number(), bitrateKbps: z.number() });
/** Numbers of a candidate row; NaN is written as null by JSON. */
const figure = z.number().nullable().optional();
const policySchema = z.object({
  kind: z.enum(["cache-all", "cache-nothing", "model"]),
  model: z.string().nullable(),
  threshold: z.number().nullable(),
  costModel: costModelSchema,
  reason: z.string(),
  validation: z.object({
    listens: z.number(),
    users: z.number(),
    level: z.number(),
    replicates: z.number(),
    folds: z.number(),
    seed: z.number(),
    interval: z.string(),
    from: z.string(),
    to: z.string(),
    candidates: z.array(
      z.object({
        name: z.string(),
        kind: z.enum(["cache-all", "cache-nothing", "model", "rule"]),
        model: z.string().nullable(),
        threshold: z.number().nullable(),
        estimate: z.string(),
        saving: figure,
        share: figure,
        ciLower: figure,
        ciUpper: figure,
        listens: z.number(),
        users: z.number(),
        passes: z.boolean(),
      }),
    ),
  }),
});

/**
 * The prefetch policy chosen on the validation period (src/train/policy-choice.ts): "cache-all" serves PLAY
 * for every request, "cache-nothing" SKIP, "model" the threshold rule of `model`. The validation table is
 * kept for the reports.
 */
export type BundlePolicy = z.infer<typeof policySchema>;
export type { CostModel };

export interface BundleContents {
  featureSchema: FeatureSchemaRef;
  /** Fitted models by name (file name safe: letters, digits, `-`, `_`, `.`). */
  models: Record<string, Model>;
  defaultModel: string;
  /** Operating threshold on P(skip) of the default model. */
  threshold: number;
  /** Thresholds of the other models, by name. */
  thresholds?: Record<string, number>;
  /** The recommended prefetch policy; bundles written before it was recorded have none. */
  policy?: BundlePolicy;
  metrics?: Record<string, unknown>;
  /** Fingerprint of the training data (see `dataFingerprint`). */
  dataFingerprint: string;
  /** First and last listen time of the training data (ISO 8601). */
  timeRange?: { start: string; end: string } | null;
  notes?: string[];
  /** Opaque FeatureState snapshot. */
  featureState: Uint8Array;
  createdAt?: Date;
}

const manifestSchema = z.object({
  formatVersion: z.number().int(),
  createdAt: z.string(),
  skipwiseVersion: z.string(),
  featureSchema: z.object({ version: z.string(), names: z.array(z.string()) }),
  models: z.record(z.string(), z.object({ file: z.string(), kind: z.string() })),
  defaultModel: z.string(),
  threshold: z.number(),
  thresholds: z.record(z.string(), z.number()),
  policy: policySchema.optional(),
  metrics: z.record(z.string(), z.unknown()),
  dataFingerprint: z.string(),
  timeRange: z.object({ start: z.string(), end: z.string() }).nullable(),
  notes: z.array(z.string()),
  featureStateFile: z.string(),
});

export type BundleManifest = z.infer<typeof manifestSchema>;

export interface LoadedBundle {
  dir: string;
  manifest: BundleManifest;
  models: Record<string, SkipModel>;
  defaultModel: SkipModel;
  featureState: Buffer;
}

export class BundleError extends Error {
  override name = "BundleError";
}

const MODEL_NAME = /^[A-Za-z0-9_.-]+$/;
const FEATURE_STATE_FILE = "feature-state.bin";

function skipwiseVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/**
 * Writes a bundle directory atomically: everything goes to `<dir>.tmp-<pid>` first, which is then renamed
 * over `dir`. An existing bundle is moved aside and deleted only once the new one is in place (and put
 * back if the rename fails), so `dir` never holds a half-written bundle.
 */
export function saveBundle(dir: string, contents: BundleContents): BundleManifest {
  const names = Object.keys(contents.models);
  if (names.length === 0) throw new BundleError(`bundle ${dir}: no models to save`);
  for (const name of names) {
    if (!MODEL_NAME.test(name))
      throw new BundleError(`bundle ${dir}: model name "${name}" is not file-name safe`);
  }
  if (!(contents.defaultModel in contents.models)) {
    throw new BundleError(
      `bundle ${dir}: default model "${contents.defaultModel}" is not among the models (${names.join(", ")})`,
    );
  }
  const models: BundleManifest["models"] = {};
  const jsons: Record<string, ModelJSON> = {};
  for (const name of names) {
    const json = contents.models[name].toJSON();
    jsons[name] = json;
    models[name] = { file: `models/${name}.json`, kind: json.kind };
  }
  if (contents.policy) checkPolicy(dir, contents.policy, contents.models, contents);
  const manifest: BundleManifest = {
    formatVersion: BUNDLE_FORMAT_VERSION,
    createdAt: (contents.createdAt ?? new Date()).toISOString(),
    skipwiseVersion: skipwiseVersion(),
    featureSchema: { version: contents.featureSchema.version, names: [...contents.featureSchema.names] },
    models,
    defaultModel: contents.defaultModel,
    threshold: contents.threshold,
    thresholds: { ...(contents.thresholds ?? {}) },
    ...(contents.policy ? { policy: contents.policy } : {}),
    metrics: { ...(contents.metrics ?? {}) },
    dataFingerprint: contents.dataFingerprint,
    timeRange: contents.timeRange ?? null,
    notes: [...(contents.notes ?? [])],
    featureStateFile: FEATURE_STATE_FILE,
  };

  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, "models"), { recursive: true });
  try {
    for (const name of names) writeFileSync(join(tmp, models[name].file), JSON.stringify(jsons[name]));
    writeFileSync(join(tmp, FEATURE_STATE_FILE), contents.featureState);
    // The manifest is written last: a directory with a manifest is complete.
    writeFileSync(join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    if (existsSync(dir)) {
      const old = `${dir}.old-${process.pid}`;
      rmSync(old, { recursive: true, force: true });
      renameSync(dir, old);
      try {
        renameSync(tmp, dir);
      } catch (error) {
        renameSync(old, dir);
        throw error;
      }
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, dir);
    }
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  return manifest;
}

/** The threshold a manifest serves for `model`: `threshold` for the default model, else `thresholds[model]`. */
export function servedThreshold(
  manifest: { defaultModel: string; threshold: number; thresholds?: Record<string, number> },
  model: string,
): number {
  return model === manifest.defaultModel ? manifest.threshold : (manifest.thresholds?.[model] ?? 0.5);
}

/** A policy must name a model of the bundle and serve that model's one threshold. */
function checkPolicy(
  dir: string,
  policy: BundlePolicy,
  models: Record<string, unknown>,
  manifest: { defaultModel: string; threshold: number; thresholds?: Record<string, number> },
): void {
  try {
    validateCostModel(policy.costModel, `bundle ${dir}: policy.costModel`);
  } catch (error) {
    throw new BundleError((error as Error).message);
  }
  if (policy.kind !== "model") return;
  if (policy.model === null || !(policy.model in models)) {
    throw new BundleError(`bundle ${dir}: policy.model "${policy.model}" is not among the models`);
  }
  const served = servedThreshold(manifest, policy.model);
  if (policy.threshold !== served) {
    throw new BundleError(
      `bundle ${dir}: policy.threshold ${policy.threshold} differs from the threshold ${served} served for "${policy.model}": a model has one operating threshold`,
    );
  }
}

function mismatch(dir: string, field: string, expected: unknown, found: unknown): BundleError {
  return new BundleError(
    `bundle ${dir}: ${field} mismatch: expected ${JSON.stringify(expected)}, found ${JSON.stringify(found)}`,
  );
}

/**
 * Reads a bundle, refusing (with a message naming the bundle, the field, the expected and the found value)
 * an unknown format version, a feature schema other than `expectedSchema`, or a missing / unreadable file.
 */
export function loadBundle(dir: string, options: { expectedSchema?: FeatureSchemaRef } = {}): LoadedBundle {
  const manifestPath = join(dir, "manifest.json");
  if (!existsSync(manifestPath)) throw new BundleError(`bundle ${dir}: manifest.json is missing`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestPath, "utf8"));
  } catch (error) {
    throw new BundleError(`bundle ${dir}: manifest.json is not valid JSON (${(error as Error).message})`);
  }
  const version = (raw as { formatVersion?: unknown } | null)?.formatVersion;
  if (version !== BUNDLE_FORMAT_VERSION)
    throw mismatch(dir, "manifest.json formatVersion", BUNDLE_FORMAT_VERSION, version);
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BundleError(
      `bundle ${dir}: manifest.json field ${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
  }
  const manifest = parsed.data;
  const expected = options.expectedSchema;
  if (expected !== undefined) {
    if (manifest.featureSchema.version !== expected.version) {
      throw mismatch(dir, "featureSchema.version", expected.version, manifest.featureSchema.version);
    }
    const found = manifest.featureSchema.names;
    if (found.length !== expected.names.length) {
      throw mismatch(dir, "featureSchema.names (count)", expected.names.length, found.length);
    }
    for (let i = 0; i < found.length; i++) {
      if (found[i] !== expected.names[i])
        throw mismatch(dir, `featureSchema.names[${i}]`, expected.names[i], found[i]);
    }
  }
  if (!(manifest.defaultModel in manifest.models)) {
    throw new BundleError(`bundle ${dir}: defaultModel "${manifest.defaultModel}" is not listed in models`);
  }
  if (manifest.policy) checkPolicy(dir, manifest.policy, manifest.models, manifest);
  const models: Record<string, SkipModel> = {};
  for (const [name, entry] of Object.entries(manifest.models)) {
    const path = join(dir, entry.file);
    if (!existsSync(path))
      throw new BundleError(`bundle ${dir}: model file ${entry.file} (model "${name}") is missing`);
    let json: ModelJSON;
    try {
      json = JSON.parse(readFileSync(path, "utf8")) as ModelJSON;
    } catch (error) {
      throw new BundleError(
        `bundle ${dir}: model file ${entry.file} is not valid JSON (${(error as Error).message})`,
      );
    }
    if (json?.kind !== entry.kind) throw mismatch(dir, `models.${name}.kind`, entry.kind, json?.kind);
    try {
      models[name] = modelFromJSON(json);
    } catch (error) {
      throw new BundleError(
        `bundle ${dir}: model file ${entry.file} cannot be restored: ${(error as Error).message}`,
      );
    }
    const cols = (json.state as { cols?: unknown }).cols;
    if (typeof cols === "number" && cols >= 0 && cols !== manifest.featureSchema.names.length) {
      throw mismatch(dir, `models.${name} column count`, manifest.featureSchema.names.length, cols);
    }
  }
  const statePath = join(dir, manifest.featureStateFile);
  if (!existsSync(statePath)) throw new BundleError(`bundle ${dir}: ${manifest.featureStateFile} is missing`);
  return {
    dir,
    manifest,
    models,
    defaultModel: models[manifest.defaultModel],
    featureState: readFileSync(statePath),
  };
}

/**
 * Fingerprint of input files for the manifest: sha256 over each file's name, size and first 64 KiB.
 * Cheap on multi-GB deliveries, and changes when a file is replaced or grows.
 */
export function dataFingerprint(files: readonly string[]): string {
  const hash = createHash("sha256");
  const head = Buffer.alloc(64 * 1024);
  for (const file of [...files].sort()) {
    const size = statSync(file).size;
    const fd = openSync(file, "r");
    let read = 0;
    try {
      read = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
    hash.update(`${basename(file)}\0${size}\0`);
    hash.update(head.subarray(0, read));
  }
  return `sha256:${hash.digest("hex")}`;
}
