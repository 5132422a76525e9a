// The reference project's evaluation protocol ("seed"), reproduced so its inflated number can be shown
// next to the honest one. What it does, step for step:
//   - rows: one per (session, track) with a play or skip; skipped if any skip exists (listens rule "reference");
//   - user and track skip rates computed over ALL rows, including the rows later used for validation
//     (the label leak);
//   - features: ten audio/popularity columns, min-max scaled popularity/loudness/tempo, the two leaky rates,
//     the favourite genres of the user one-hot encoded, and the numeric id columns it kept (user_id, session_id);
//   - 1000 random rows set aside for the A/B test, then 1000 random validation rows, seed 42, rest = training;
//   - StandardScaler + LinearSVC(class_weight="balanced") and plain accuracy on the validation rows.
// Random draws use skipwise's seeded PRNG, not numpy's, so the exact rows differ from the reference's run;
// everything else is its rule.
import { join } from "node:path";
import { writeFileAtomicSync } from "../base/atomic-write.ts";
import type { Catalog } from "../data/types.ts";
import { AUDIO_FEATURES } from "../features/schema.ts";
import type { ListenTable } from "../listens/types.ts";
import { LinearSVM } from "../models/index.ts";
import { Rng } from "../models/random.ts";
import type { Matrix } from "../models/types.ts";
import { rocAuc } from "./metrics.ts";
import { selectRows, selectValues } from "./split.ts";

export const REFERENCE_SEED = 42;
export const REFERENCE_AB_ROWS = 1000;
export const REFERENCE_VALIDATION_ROWS = 1000;
/**
 * The reference's LinearSVC is fitted on at most this many of its training rows (a seeded random sample;
 * the leaky rates are still computed over every row). Its figure is an accuracy on 1000 rows: a sample of
 * 200,000 moves it by less than its own sampling error, and keeps the comparison to seconds and ~200 MB
 * where the whole of a production delivery took minutes and 6 GB (2.8 M rows × 194 columns, three copies).
 */
export const REFERENCE_MAX_TRAIN_ROWS = 200_000;

/** The reference's ten audio/popularity columns. */
const AUDIO = ["popularity", ...AUDIO_FEATURES] as const;

export interface ReferenceDataset {
  X: Matrix;
  featureNames: string[];
  /** 1 = skipped (the reference encoded Play = 1, Skip = 0; accuracy is the same either way). */
  y: Uint8Array;
  userId: Int32Array;
  sessionId: Int32Array;
  trackId: string[];
}

export interface ReferenceSplit {
  ab: Int32Array;
  validation: Int32Array;
  train: Int32Array;
}

export interface ReferenceResult {
  rows: number;
  split: { train: number; validation: number; ab: number };
  /** Accuracy of the balanced LinearSVC on the validation rows (the number the reference reported). */
  accuracy: number;
  rocAuc: number;
  /** Accuracy on the A/B rows too, the reference's second figure. */
  abAccuracy: number;
  /** Training rows the SVM was fitted on, when fewer than the protocol's (a sample, see REFERENCE_MAX_TRAIN_ROWS). */
  sampledTrainRows?: number;
}

/** Leaky rates: mean of the label over every row of the user / track, the row itself included. */
function leakyRate(keys: ArrayLike<number>, y: Uint8Array): Float64Array {
  const n = y.length;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    if (keys[i] < lo) lo = keys[i];
    if (keys[i] > hi) hi = keys[i];
  }
  const out = new Float64Array(n);
  if (n > 0 && hi - lo < 4 * n + 1_000_000) {
    // Ids and track indices are small integers: counting in arrays beats two Maps by ten times.
    const hits = new Float64Array(hi - lo + 1);
    const counts = new Float64Array(hi - lo + 1);
    for (let i = 0; i < n; i++) {
      hits[keys[i] - lo] += y[i];
      counts[keys[i] - lo]++;
    }
    for (let i = 0; i < n; i++) out[i] = hits[keys[i] - lo] / counts[keys[i] - lo];
    return out;
  }
  const hits = new Map<number, number>();
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    hits.set(keys[i], (hits.get(keys[i]) ?? 0) + y[i]);
    counts.set(keys[i], (counts.get(keys[i]) ?? 0) + 1);
  }
  for (let i = 0; i < n; i++) out[i] = (hits.get(keys[i]) ?? 0) / (counts.get(keys[i]) ?? 1);
  return out;
}

/**
 * The reference's feature rows: for every listen, or for `rows` only (in that order). The leaky rates and
 * the min-max scales are computed over every listen either way, as the reference did.
 */
export function buildReferenceDataset(
  listens: ListenTable,
  catalog: Catalog,
  rows?: Int32Array,
): ReferenceDataset {
  const total = listens.length;
  const allY = listens.skipped.subarray(0, total);
  const userRate = leakyRate(listens.userId.subarray(0, total), allY);
  const trackRate = leakyRate(listens.trackIndex.subarray(0, total), allY);
  const picked = rows ?? Int32Array.from({ length: total }, (_, i) => i);
  const n = picked.length;

  const genres = new Set<string>();
  for (const user of catalog.users.values()) for (const g of user.favouriteGenres) genres.add(g);
  const genreList = [...genres].sort();
  const genreColumn = new Map(genreList.map((g, k) => [g, k] as const));

  const trackValue = (i: number, name: (typeof AUDIO)[number]) => catalog.tracks[listens.trackIndex[i]][name];
  // Min-max scales of popularity, loudness and tempo over every listen.
  const scaledNames = [AUDIO[0], AUDIO[3], AUDIO[9]] as const;
  const lo = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  const hi = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (let i = 0; i < total; i++) {
    for (let k = 0; k < 3; k++) {
      const v = trackValue(i, scaledNames[k]);
      if (v < lo[k]) lo[k] = v;
      if (v > hi[k]) hi[k] = v;
    }
  }
  const featureNames = [
    "user_id",
    "session_id",
    ...AUDIO,
    "ScaledPopularity",
    "ScaledLoudness",
    "ScaledTempo",
    "user_skip_rate",
    "track_skip_rate",
    ...genreList,
  ];
  const cols = featureNames.length;
  const data = new Float32Array(n * cols);
  const y = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const i = picked[r];
    const row = r * cols;
    y[r] = allY[i];
    data[row] = listens.userId[i];
    data[row + 1] = listens.sessionId[i];
    for (let k = 0; k < AUDIO.length; k++) data[row + 2 + k] = trackValue(i, AUDIO[k]);
    for (let k = 0; k < 3; k++) {
      const span = hi[k] - lo[k];
      data[row + 2 + AUDIO.length + k] = span > 0 ? (trackValue(i, scaledNames[k]) - lo[k]) / span : 0;
    }
    data[row + 2 + AUDIO.length + 3] = userRate[i];
    data[row + 2 + AUDIO.length + 4] = trackRate[i];
    const user = catalog.users.get(listens.userId[i]);
    for (const g of user?.favouriteGenres ?? []) {
      const k = genreColumn.get(g);
      if (k !== undefined) data[row + 2 + AUDIO.length + 5 + k] = 1;
    }
  }
  return {
    X: { rows: n, cols, data },
    featureNames,
    y,
    userId: Int32Array.from(picked, (i) => listens.userId[i]),
    sessionId: Int32Array.from(picked, (i) => listens.sessionId[i]),
    trackId: Array.from(picked, (i) => catalog.tracks[listens.trackIndex[i]].id),
  };
}

/**
 * The reference protocol with a bounded fit: the split over every listen, the SVM fitted on at most
 * `maxTrainRows` of the training rows (seeded sample), feature rows built only for the rows used.
 */
export function boundedReferenceProtocol(
  listens: ListenTable,
  catalog: Catalog,
  maxTrainRows = REFERENCE_MAX_TRAIN_ROWS,
  seed = REFERENCE_SEED,
  onProgress?: (done: number, total: number) => void,
): ReferenceResult {
  const split = referenceSplit(listens.length, seed);
  let train = split.train;
  if (train.length > maxTrainRows) {
    const order = Int32Array.from(train);
    const rng = new Rng(seed + 1);
    for (let i = 0; i < maxTrainRows; i++) {
      const j = i + rng.int(order.length - i);
      const tmp = order[i];
      order[i] = order[j];
      order[j] = tmp;
    }
    train = order.slice(0, maxTrainRows).sort();
  }
  const rows = new Int32Array(train.length + split.validation.length + split.ab.length);
  rows.set(train, 0);
  rows.set(split.validation, train.length);
  rows.set(split.ab, train.length + split.validation.length);
  const dataset = buildReferenceDataset(listens, catalog, rows);
  onProgress?.(1, 2);
  const local = (from: number, count: number) => Int32Array.from({ length: count }, (_, k) => from + k);
  const result = fitReference(dataset, {
    train: local(0, train.length),
    validation: local(train.length, split.validation.length),
    ab: local(train.length + split.validation.length, split.ab.length),
  });
  const bounded: ReferenceResult = {
    ...result,
    rows: listens.length,
    split: { train: split.train.length, validation: split.validation.length, ab: split.ab.length },
    ...(train.length < split.train.length ? { sampledTrainRows: train.length } : {}),
  };
  onProgress?.(2, 2);
  return bounded;
}

/** 1000 random A/B rows, then 1000 random validation rows from the rest; the remainder trains. */
export function referenceSplit(rows: number, seed = REFERENCE_SEED): ReferenceSplit {
  const need = REFERENCE_AB_ROWS + REFERENCE_VALIDATION_ROWS;
  if (rows <= need) {
    throw new Error(
      `the reference protocol needs more than ${need} rows (it sets aside 1000 + 1000), got ${rows}`,
    );
  }
  const order = Int32Array.from({ length: rows }, (_, i) => i);
  const rng = new Rng(seed);
  for (let i = rows - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  const ab = order.slice(0, REFERENCE_AB_ROWS).sort();
  const validation = order.slice(REFERENCE_AB_ROWS, need).sort();
  const train = order.slice(need).sort();
  return { ab, validation, train };
}

export function runReferenceProtocol(dataset: ReferenceDataset, seed = REFERENCE_SEED): ReferenceResult {
  return fitReference(dataset, referenceSplit(dataset.y.length, seed));
}

function fitReference(dataset: ReferenceDataset, split: ReferenceSplit): ReferenceResult {
  const model = new LinearSVM({ classWeight: "balanced" });
  model.fit(selectRows(dataset.X, split.train), selectValues(dataset.y, split.train));
  const yValid = selectValues(dataset.y, split.validation);
  const marginValid = model.decisionFunction(selectRows(dataset.X, split.validation));
  const yAb = selectValues(dataset.y, split.ab);
  const marginAb = model.decisionFunction(selectRows(dataset.X, split.ab));
  return {
    rows: dataset.y.length,
    split: { train: split.train.length, validation: split.validation.length, ab: split.ab.length },
    accuracy: signAccuracy(yValid, marginValid),
    rocAuc: rocAuc(yValid, marginValid),
    abAccuracy: signAccuracy(yAb, marginAb),
  };
}

/** LinearSVC predicts by the sign of its margin (positive = skipped). */
function signAccuracy(y: Uint8Array, margin: Float64Array): number {
  let right = 0;
  for (let i = 0; i < y.length; i++) if ((margin[i] > 0 ? 1 : 0) === y[i]) right++;
  return right / y.length;
}

function csvCell(value: string | number): string {
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  return /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function writeCsv(
  path: string,
  header: readonly string[],
  rows: number,
  cell: (row: number, col: number) => string | number,
) {
  const lines = [header.map(csvCell).join(",")];
  for (let r = 0; r < rows; r++) {
    const cells: string[] = [];
    for (let c = 0; c < header.length; c++) cells.push(csvCell(cell(r, c)));
    lines.push(cells.join(","));
  }
  writeFileAtomicSync(path, `${lines.join("\n")}\n`);
}

/**
 * Writes the reference's five CSV files (merged_data.csv, y.csv, validation_data.csv,
 * validation_classes.csv, ab_test_data.csv) with its label encoding: event_type 1 = Play, 0 = Skip.
 */
export function exportReferenceCsv(dir: string, dataset: ReferenceDataset, seed = REFERENCE_SEED): string[] {
  const split = referenceSplit(dataset.y.length, seed);
  const { X, featureNames } = dataset;
  const label = (i: number) => (dataset.y[i] === 1 ? 0 : 1);
  const features = (rows: Int32Array) => (r: number, c: number) => X.data[rows[r] * X.cols + c];
  const files = {
    "merged_data.csv": () =>
      writeCsv(join(dir, "merged_data.csv"), featureNames, split.train.length, features(split.train)),
    "y.csv": () =>
      writeCsv(join(dir, "y.csv"), ["event_type"], split.train.length, (r) => label(split.train[r])),
    "validation_data.csv": () =>
      writeCsv(
        join(dir, "validation_data.csv"),
        featureNames,
        split.validation.length,
        features(split.validation),
      ),
    "validation_classes.csv": () =>
      writeCsv(join(dir, "validation_classes.csv"), ["event_type"], split.validation.length, (r) =>
        label(split.validation[r]),
      ),
    "ab_test_data.csv": () =>
      writeCsv(
        join(dir, "ab_test_data.csv"),
        ["user_id", "track_id", "event_type"],
        split.ab.length,
        (r, c) => {
          const i = split.ab[r];
          return c === 0 ? dataset.userId[i] : c === 1 ? dataset.trackId[i] : label(i);
        },
      ),
  };
  for (const write of Object.values(files)) write();
  return Object.keys(files).map((f) => join(dir, f));
}
