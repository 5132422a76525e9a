import type { FitOptions, Matrix, ModelJSON, SkipModel } from "./types.ts";
import {
  checkFitInputs,
  checkFitted,
  checkPredictInput,
  expectKind,
  jsonFinite,
  jsonInteger,
  ModelInputError,
  outputBuffer,
} from "./validate.ts";

/** A skip rate read back from a model JSON: finite, in [0, 1]. */
function jsonRate(kind: string, value: unknown): number {
  const rate = jsonFinite(kind, "state.rate", value);
  if (rate < 0 || rate > 1)
    throw new ModelInputError(`${kind}: state.rate is ${rate}, expected a rate in [0, 1]`);
  return rate;
}

function columnIndex(kind: string, options: FitOptions | undefined, name: string, cols: number): number {
  const names = options?.featureNames;
  if (names === undefined) {
    throw new ModelInputError(`${kind}: fit needs options.featureNames to find the "${name}" column`);
  }
  if (names.length !== cols) {
    throw new ModelInputError(
      `${kind}: options.featureNames has ${names.length} names but X has ${cols} columns`,
    );
  }
  const index = names.indexOf(name);
  if (index < 0) throw new ModelInputError(`${kind}: feature column "${name}" is absent from featureNames`);
  return index;
}

function weightedBaseRate(y: Uint8Array, w?: Float64Array): number {
  let pos = 0;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    const s = w === undefined ? 1 : w[i];
    pos += s * y[i];
    total += s;
  }
  return total > 0 ? pos / total : 0;
}

/**
 * The naive genre rule, the one definition (NaiveGenreModel serves it, the cache simulator replays it):
 * 1 = SKIP when the track's artist shares no genre with the user's favourites (`genre_match` = 0), 0 = PLAY
 * otherwise. An unknown match (NaN: the user or the track is not in the catalogue) gives PLAY: without
 * evidence the rule falls back to prefetching, the conservative decision for a cache (a wrong SKIP stalls
 * playback, a wrong PLAY only wastes bytes).
 */
export function genreRuleSkip(genreMatch: number): 0 | 1 {
  return genreMatch === 0 ? 1 : 0;
}

/**
 * The reference project's baseline: P(skip) = genreRuleSkip(genre_match), i.e. SKIP when the track's artist
 * shares no genre with the user's favourites, PLAY otherwise (an unknown match included).
 */
export class NaiveGenreModel implements SkipModel {
  readonly kind = "naive-genre";
  private column = -1;
  private cols = -1;

  fit(X: Matrix, y: Uint8Array, options?: FitOptions): this {
    checkFitInputs(this.kind, X, y, options, false);
    this.column = columnIndex(this.kind, options, "genre_match", X.cols);
    this.cols = X.cols;
    return this;
  }

  predictProba(X: Matrix, out?: Float64Array): Float64Array {
    checkPredictInput(this.kind, X, this.cols);
    const result = outputBuffer(X.rows, out);
    const { data, cols } = X;
    for (let i = 0; i < X.rows; i++) result[i] = genreRuleSkip(data[i * cols + this.column]);
    return result;
  }

  predictOne(row: ArrayLike<number>, offset = 0): number {
    checkFitted(this.kind, this.cols >= 0, "predictOne");
    return genreRuleSkip(row[offset + this.column]);
  }

  toJSON(): ModelJSON {
    checkFitted(this.kind, this.cols >= 0, "toJSON");
    return { kind: this.kind, version: 1, params: {}, state: { column: this.column, cols: this.cols } };
  }

  static fromJSON(json: ModelJSON): NaiveGenreModel {
    expectKind(json, "naive-genre", 1);
    const model = new NaiveGenreModel();
    model.cols = jsonInteger("naive-genre", "state.cols", json.state.cols, 1);
    model.column = jsonInteger("naive-genre", "state.column", json.state.column, 0, model.cols - 1);
    return model;
  }
}

/** Predicts the (weighted) training skip rate for every row. */
export class MajorityModel implements SkipModel {
  readonly kind = "majority";
  private rate = Number.NaN;
  private cols = -1;

  get baseRate(): number {
    checkFitted(this.kind, this.cols >= 0, "baseRate");
    return this.rate;
  }

  fit(X: Matrix, y: Uint8Array, options?: FitOptions): this {
    checkFitInputs(this.kind, X, y, options, false);
    this.rate = weightedBaseRate(y, options?.sampleWeight);
    this.cols = X.cols;
    return this;
  }

  predictProba(X: Matrix, out?: Float64Array): Float64Array {
    checkPredictInput(this.kind, X, this.cols);
    const result = outputBuffer(X.rows, out);
    result.fill(this.rate, 0, X.rows);
    return result;
  }

  predictOne(): number {
    checkFitted(this.kind, this.cols >= 0, "predictOne");
    return this.rate;
  }

  toJSON(): ModelJSON {
    checkFitted(this.kind, this.cols >= 0, "toJSON");
    return { kind: this.kind, version: 1, params: {}, state: { rate: this.rate, cols: this.cols } };
  }

  static fromJSON(json: ModelJSON): MajorityModel {
    expectKind(json, "majority", 1);
    const model = new MajorityModel();
    model.rate = jsonRate("majority", json.state.rate);
    model.cols = jsonInteger("majority", "state.cols", json.state.cols, 0);
    return model;
  }
}

/**
 * "Same as last time": P(skip) = `session_prev_skipped` (1 or 0); at the first listen of a session
 * (NaN) it falls back to the training base rate.
 */
export class PreviousOutcomeModel implements SkipModel {
  readonly kind = "previous-outcome";
  private column = -1;
  private cols = -1;
  private rate = Number.NaN;

  fit(X: Matrix, y: Uint8Array, options?: FitOptions): this {
    checkFitInputs(this.kind, X, y, options, false);
    this.column = columnIndex(this.kind, options, "session_prev_skipped", X.cols);
    this.rate = weightedBaseRate(y, options?.sampleWeight);
    this.cols = X.cols;
    return this;
  }

  predictProba(X: Matrix, out?: Float64Array): Float64Array {
    checkPredictInput(this.kind, X, this.cols);
    const result = outputBuffer(X.rows, out);
    for (let i = 0; i < X.rows; i++) result[i] = this.previousOutcome(X.data, i * X.cols);
    return result;
  }

  predictOne(row: ArrayLike<number>, offset = 0): number {
    checkFitted(this.kind, this.cols >= 0, "predictOne");
    return this.previousOutcome(row, offset);
  }

  private previousOutcome(row: ArrayLike<number>, offset: number): number {
    const v = row[offset + this.column];
    if (v === 1) return 1;
    if (v === 0) return 0;
    return this.rate;
  }

  toJSON(): ModelJSON {
    checkFitted(this.kind, this.cols >= 0, "toJSON");
    return {
      kind: this.kind,
      version: 1,
      params: {},
      state: { column: this.column, cols: this.cols, rate: this.rate },
    };
  }

  static fromJSON(json: ModelJSON): PreviousOutcomeModel {
    const kind = "previous-outcome";
    expectKind(json, kind, 1);
    const model = new PreviousOutcomeModel();
    model.cols = jsonInteger(kind, "state.cols", json.state.cols, 1);
    model.column = jsonInteger(kind, "state.column", json.state.column, 0, model.cols - 1);
    model.rate = jsonRate(kind, json.state.rate);
    return model;
  }
}
