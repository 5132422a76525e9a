import { createHash } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  type Stats,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, sep } from "node:path";
import { z } from "zod";
import { publishDirectorySync } from "../base/atomic-write.ts";
import { fingerprintOf } from "../data/fingerprint.ts";
import { type CostModel, validateCostModel } from "../listens/cost-model.ts";
import { findModelEntry, modelFromJSON } from "./registry.ts";
import type { Model, ModelJSON, SkipModel } from "./types.ts";

/**
 * Bumped whenever the bundle layout or manifest fields change incompatibly. 2: the manifest records the
 * sha256 and size of every other file (`files`), checked on load; format-1 bundles are refused (retrain).
 */
export const BUNDLE_FORMAT_VERSION = 2;

/** Size limits of the files of a bundle, checked before reading (and when saving). */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
/** A model JSON is parsed as one string; the largest trained so far (gbdt, 300 trees) is ≈ 150 KB. */
export const MAX_MODEL_FILE_BYTES = 256 * 1024 * 1024;
/** The feature-state snapshot grows with users × tracks (≈ 1.2 MB on 2023L-v2). */
export const MAX_FEATURE_STATE_BYTES = 2 * 1024 * 1024 * 1024;

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

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * What the bundle was trained on, content-addressed (never a host path): the delivery's fingerprint
 * (src/data/fingerprint.ts) and its files, its event and listen counts and the time its events span.
 */
const trainedOnSchema = z.object({
  fingerprint: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  files: z.array(
    z.object({
      name: z.string(),
      bytes: z.number().int().nonnegative(),
      sha256: z.string().regex(SHA256_HEX),
    }),
  ),
  events: z.number().int().nonnegative(),
  listens: z.number().int().nonnegative(),
  /** First and last event time of the delivery (ISO 8601). */
  from: z.string(),
  to: z.string(),
});

export type TrainedOn = z.infer<typeof trainedOnSchema>;

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
  /** The delivery the models were trained on; absent = unknown (for example models fitted in a test). */
  trainedOn?: TrainedOn | null;
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
  /** null or absent (bundles written before it was recorded): the training delivery is unknown. */
  trainedOn: trainedOnSchema.nullable().default(null),
  /** Written before `trainedOn` (a hash of each file's name, size and first 64 KiB); read, never used. */
  dataFingerprint: z.string().optional(),
  timeRange: z.object({ start: z.string(), end: z.string() }).nullable(),
  notes: z.array(z.string()),
  featureStateFile: z.string(),
  /** Every file of the bundle but the manifest, by path relative to the bundle: sha256 (hex) and size. */
  files: z.record(
    z.string(),
    z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() }),
  ),
});

export type BundleManifest = z.infer<typeof manifestSchema>;

export interface LoadedBundle {
  dir: string;
  /** `bundleVersionOf` the manifest as read: changes with any file of the bundle (their hashes are in it). */
  version: string;
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
 * Writes a bundle directory atomically (publishDirectorySync): everything goes to a temporary directory
 * beside `dir` first, is fsynced, and is then renamed over `dir`. An existing bundle is moved aside and
 * deleted only once the new one is in place (and put back if the rename fails), so `dir` never holds a
 * half-written bundle.
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
  const written: Record<string, Uint8Array> = {};
  for (const name of names) {
    const json = contents.models[name].toJSON();
    checkRegistryKind(dir, name, json.kind);
    models[name] = { file: `models/${name}.json`, kind: json.kind };
    written[models[name].file] = Buffer.from(JSON.stringify(json));
  }
  written[FEATURE_STATE_FILE] = contents.featureState;
  const files: BundleManifest["files"] = {};
  for (const [file, bytes] of Object.entries(written)) {
    const limit = file === FEATURE_STATE_FILE ? MAX_FEATURE_STATE_BYTES : MAX_MODEL_FILE_BYTES;
    if (bytes.length > limit) {
      throw new BundleError(
        `bundle ${dir}: ${file} would be ${bytes.length} bytes, over the limit of ${limit}`,
      );
    }
    files[file] = { sha256: sha256Hex(bytes), bytes: bytes.length };
  }
  if (contents.policy) checkPolicy(dir, contents.policy, contents.models, contents);
  const trainedOn = contents.trainedOn ? checkTrainedOn(dir, contents.trainedOn) : null;
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
    trainedOn,
    timeRange: contents.timeRange ?? null,
    notes: [...(contents.notes ?? [])],
    featureStateFile: FEATURE_STATE_FILE,
    files,
  };

  publishDirectorySync(dir, (tmp) => {
    mkdirSync(join(tmp, "models"));
    for (const [file, bytes] of Object.entries(written)) writeFileSync(join(tmp, file), bytes);
    // The manifest is written last: a directory with a manifest is complete.
    writeFileSync(join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  });
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

/** A model saved under a name of the registry must be that entry's model (same JSON kind). */
function checkRegistryKind(dir: string, name: string, kind: unknown): void {
  const entry = findModelEntry(name);
  if (entry !== undefined && entry.kind !== kind) {
    throw new BundleError(
      `bundle ${dir}: model "${name}" is of kind ${JSON.stringify(kind)}, but the model registry's "${name}" is of kind "${entry.kind}"`,
    );
  }
}

/** Well-formed, and its fingerprint is the one of its files. */
function checkTrainedOn(dir: string, trainedOn: TrainedOn): TrainedOn {
  const parsed = trainedOnSchema.safeParse(trainedOn);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BundleError(`bundle ${dir}: trainedOn.${issue.path.join(".")}: ${issue.message}`);
  }
  if (fingerprintOf(parsed.data.files) !== parsed.data.fingerprint) {
    throw new BundleError(`bundle ${dir}: trainedOn.fingerprint is not the fingerprint of trainedOn.files`);
  }
  return parsed.data;
}

function mismatch(dir: string, field: string, expected: unknown, found: unknown): BundleError {
  return new BundleError(
    `bundle ${dir}: ${field} mismatch: expected ${JSON.stringify(expected)}, found ${JSON.stringify(found)}`,
  );
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Short, readable version of a bundle: its creation time plus a hash of its manifest text. The manifest
 * holds the sha256 of every other file, so the version changes when any file of the bundle does.
 */
export function bundleVersionOf(manifestText: string, createdAt: string): string {
  return `${createdAt.replace(/\.\d+Z$/, "Z")}-${createHash("sha256").update(manifestText).digest("hex").slice(0, 8)}`;
}

/** A bundle folder, resolved once: every file read must resolve inside `real`. */
interface BundleRoot {
  dir: string;
  real: string;
  prefix: string;
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? "error";
}

function bundleRoot(dir: string): BundleRoot {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR")
      throw new BundleError(`bundle ${dir}: manifest.json is missing (no such folder)`);
    throw new BundleError(`bundle ${dir}: the bundle folder cannot be opened (${code})`);
  }
  if (!statSync(real).isDirectory()) throw new BundleError(`bundle ${dir}: not a folder`);
  return { dir, real, prefix: real.endsWith(sep) ? real : `${real}${sep}` };
}

/** Letters, digits, `-`, `_`, `.` in `/`-separated parts: no absolute path, no empty part, no `\`. */
const BUNDLE_PATH = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;

/** A path named by a manifest must be relative, normalised and inside the bundle. */
function checkBundlePath(dir: string, file: string, what: string): void {
  if (BUNDLE_PATH.test(file) && !file.split("/").some((part) => part === "." || part === "..")) return;
  const shown = JSON.stringify(file.length > 80 ? `${file.slice(0, 80)}…` : file);
  throw new BundleError(
    `bundle ${dir}: manifest.json ${what} ${shown} is not a path inside the bundle: paths must be relative and normalised (letters, digits, "-", "_", "." and "/"; no "..", no absolute path)`,
  );
}

function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  if (stats.isSymbolicLink()) return "a symbolic link";
  return "not a regular file";
}

/** O_NONBLOCK: a FIFO swapped in after the lstat does not block the open; O_NOFOLLOW: nor a symbolic link. */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0);

/**
 * Reads `file` of a bundle without leaving the bundle and without blocking. The path is resolved (symbolic
 * links included) and must stay inside the bundle folder; it must be a regular file — a FIFO, socket,
 * device or directory is refused by lstat before it is opened, and again by fstat on the open descriptor —
 * of at most `limit` bytes and, when given, exactly `expectedBytes`. Messages name the file, never its
 * content. `label` names the file in the "is missing" message.
 */
function readBundleFile(
  root: BundleRoot,
  file: string,
  limit: number,
  options: { label?: string; expectedBytes?: number } = {},
): Buffer {
  const { dir } = root;
  let real: string;
  try {
    real = realpathSync(join(root.real, file));
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR")
      throw new BundleError(`bundle ${dir}: ${options.label ?? file} is missing`);
    throw new BundleError(`bundle ${dir}: ${file} cannot be resolved (${code})`);
  }
  if (!real.startsWith(root.prefix)) {
    throw new BundleError(
      `bundle ${dir}: ${file} resolves outside the bundle folder (a symbolic link out of it?): refused`,
    );
  }
  const check = (stats: Stats): void => {
    if (!stats.isFile())
      throw new BundleError(`bundle ${dir}: ${file} is ${fileKind(stats)}, not a regular file`);
    if (stats.size > limit) {
      throw new BundleError(
        `bundle ${dir}: ${file} is ${stats.size} bytes, over the limit of ${limit} bytes`,
      );
    }
    if (options.expectedBytes !== undefined && stats.size !== options.expectedBytes) {
      throw new BundleError(
        `bundle ${dir}: ${file}: size ${stats.size} bytes does not match the manifest's ${options.expectedBytes} (file changed after training?)`,
      );
    }
  };
  let fd: number;
  try {
    check(lstatSync(real));
    fd = openSync(real, OPEN_FLAGS);
  } catch (error) {
    if (error instanceof BundleError) throw error;
    throw new BundleError(`bundle ${dir}: ${file} cannot be opened (${errorCode(error)})`);
  }
  try {
    const stats = fstatSync(fd);
    check(stats);
    const bytes = Buffer.allocUnsafe(stats.size);
    let offset = 0;
    while (offset < bytes.length) {
      const read = readSync(fd, bytes, offset, Math.min(bytes.length - offset, 1 << 30), offset);
      if (read === 0) break;
      offset += read;
    }
    if (offset !== bytes.length) throw new BundleError(`bundle ${dir}: ${file} shrank while being read`);
    return bytes;
  } catch (error) {
    if (error instanceof BundleError) throw error;
    throw new BundleError(`bundle ${dir}: ${file} cannot be read (${errorCode(error)})`);
  } finally {
    closeSync(fd);
  }
}

/** A file of the bundle whose size and sha256 match the manifest's `files` entry, else refused. */
function readVerified(
  root: BundleRoot,
  manifest: BundleManifest,
  file: string,
  limit: number,
  label?: string,
) {
  const entry = manifest.files[file];
  const bytes = readBundleFile(root, file, limit, { label, expectedBytes: entry.bytes });
  if (sha256Hex(bytes) !== entry.sha256) {
    throw new BundleError(
      `bundle ${root.dir}: ${file}: content hash does not match the manifest (file changed after training?)`,
    );
  }
  return bytes;
}

/** JSON of a bundle file; the parser's message is left out since it quotes the content. */
function parseJSON(dir: string, what: string, bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new BundleError(`bundle ${dir}: ${what} is not valid JSON`);
  }
}

/**
 * The text of a bundle's manifest.json, read as `loadBundle` reads it (inside the bundle, a regular file of
 * at most MAX_MANIFEST_BYTES, never blocking): for callers that only need a field of it.
 */
export function readManifestText(dir: string): string {
  return readBundleFile(bundleRoot(dir), "manifest.json", MAX_MANIFEST_BYTES).toString("utf8");
}

/**
 * The `trainedOn` of a bundle's manifest, read as `readManifestText` reads it; null when the bundle does
 * not record it (written before it was) or its manifest cannot be read (`loadBundle` says why).
 */
export function readTrainedOn(dir: string): TrainedOn | null {
  try {
    const raw = JSON.parse(readManifestText(dir)) as { trainedOn?: unknown } | null;
    const parsed = trainedOnSchema.safeParse(raw?.trainedOn);
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Reads a bundle, refusing (with a message naming the bundle, the field, the expected and the found value)
 * an unknown format version, a feature schema other than `expectedSchema`, or a missing / unreadable file.
 * Every file is checked against the size and sha256 the manifest records before it is parsed; paths must
 * stay inside the bundle, and only regular files within the MAX_*_BYTES limits are read.
 */
export function loadBundle(dir: string, options: { expectedSchema?: FeatureSchemaRef } = {}): LoadedBundle {
  const root = bundleRoot(dir);
  const manifestText = readBundleFile(root, "manifest.json", MAX_MANIFEST_BYTES).toString("utf8");
  let raw: unknown;
  try {
    raw = JSON.parse(manifestText);
  } catch {
    throw new BundleError(`bundle ${dir}: manifest.json is not valid JSON`);
  }
  const version = (raw as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === "number" && version >= 1 && version < BUNDLE_FORMAT_VERSION) {
    throw new BundleError(
      `bundle ${dir}: manifest.json formatVersion ${version} predates content hashes of the bundle's files (format ${BUNDLE_FORMAT_VERSION}), so its models and feature state cannot be checked: retrain it with skipwise train`,
    );
  }
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
  for (const file of Object.keys(manifest.files)) checkBundlePath(dir, file, "files names");
  const used: [file: string, what: string][] = [
    ...Object.entries(manifest.models).map(([name, entry]): [string, string] => [
      entry.file,
      `models.${name}.file`,
    ]),
    [manifest.featureStateFile, "featureStateFile"],
  ];
  for (const [file, what] of used) {
    checkBundlePath(dir, file, what);
    if (!Object.hasOwn(manifest.files, file)) {
      throw new BundleError(`bundle ${dir}: manifest.json ${what} "${file}" has no content hash in files`);
    }
  }
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
  if (manifest.trainedOn) checkTrainedOn(dir, manifest.trainedOn);
  const models: Record<string, SkipModel> = {};
  for (const [name, entry] of Object.entries(manifest.models)) {
    const bytes = readVerified(
      root,
      manifest,
      entry.file,
      MAX_MODEL_FILE_BYTES,
      `model file ${entry.file} (model "${name}")`,
    );
    const json = parseJSON(dir, `model file ${entry.file}`, bytes) as ModelJSON;
    if (json?.kind !== entry.kind) throw mismatch(dir, `models.${name}.kind`, entry.kind, json?.kind);
    checkRegistryKind(dir, name, entry.kind);
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
  const featureState = readVerified(root, manifest, manifest.featureStateFile, MAX_FEATURE_STATE_BYTES);
  // Files listed but used by nothing are checked too: the manifest vouches for every file it names.
  const usedFiles = new Set(used.map(([file]) => file));
  for (const file of Object.keys(manifest.files)) {
    if (!usedFiles.has(file)) readVerified(root, manifest, file, MAX_FEATURE_STATE_BYTES);
  }
  return {
    dir,
    version: bundleVersionOf(manifestText, manifest.createdAt),
    manifest,
    models,
    defaultModel: models[manifest.defaultModel],
    featureState,
  };
}
