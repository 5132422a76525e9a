/** Row-major dense feature matrix. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

export interface FitOptions {
  /** Feature names in column order; models that read a named column (naive genre rule) need them. */
  featureNames?: readonly string[];
  sampleWeight?: Float64Array;
  /** Held-out data for early stopping. */
  validation?: { X: Matrix; y: Uint8Array };
  /** Called as work advances, for progress bars. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Standardised-space coefficients (bias last) to start the solver from, e.g. the same model fitted on a
   * subset: convex models reach the same optimum from any start, just sooner from a close one.
   */
  warmStart?: Float64Array;
}

/** Serialisable form of a fitted model: `kind` selects the loader, `params`/`state` are model-specific. */
export interface ModelJSON {
  kind: string;
  version: number;
  params: Record<string, unknown>;
  state: Record<string, unknown>;
}

/**
 * The estimator contract every model follows (scikit-learn style).
 * Labels: 1 = skipped, 0 = played to the end. `predictProba` returns P(skip) per row.
 */
export interface Model {
  readonly kind: string;
  fit(X: Matrix, y: Uint8Array, options?: FitOptions): this;
  predictProba(X: Matrix, out?: Float64Array): Float64Array;
  toJSON(): ModelJSON;
}

/** Class weighting: `"balanced"` gives each class total weight n / 2 (scikit-learn's rule). */
export type ClassWeight = "balanced" | { 0: number; 1: number } | undefined;

/**
 * Optional capabilities the models of `src/models` all provide; code that receives a plain `Model`
 * (for example a restored bundle) can test for them.
 */
export interface ModelExtras {
  /** P(skip) for one row given as `cols` numbers starting at `offset` (serving path, no allocation). */
  predictOne?(row: ArrayLike<number>, offset?: number): number;
  /** Split-gain importance per column (trees only). */
  featureImportance?(): Float64Array;
}

/** What every model class in `src/models` implements. */
export interface SkipModel extends Model {
  predictOne(row: ArrayLike<number>, offset?: number): number;
}
