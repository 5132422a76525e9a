import { availableParallelism } from "node:os";
import { binMatrix, fitBinMapper, MAX_BINS } from "./gbdt/binning.ts";
import { type Forest, flattenForest, predictRawBatch, predictRawOne } from "./gbdt/forest.ts";
import { TreeGrower } from "./gbdt/grow.ts";
import { EXACT_SUM_ROWS, gradientScales } from "./gbdt/loss.ts";
import { PARALLEL_MIN_ROWS } from "./gbdt/threads.ts";
import { type Tree, treeFromJSON, treeOutput, treeToJSON } from "./gbdt/tree.ts";
import { BoostingWorkspace } from "./gbdt/workspace.ts";
import { Rng } from "./random.ts";
import type { FitOptions, Matrix, ModelJSON, SkipModel } from "./types.ts";
import {
  checkFitInputs,
  checkFitted,
  checkPredictInput,
  combinedWeights,
  expectKind,
  jsonFinite,
  jsonInteger,
  ModelInputError,
  outputBuffer,
  sigmoid,
} from "./validate.ts";

export interface GradientBoostedTreesParams {
  /** Maximum number of trees (fewer when early stopping triggers). */
  nEstimators: number;
  learningRate: number;
  /** "leafwise": split the leaf with the largest gain first (LightGBM, XGBoost lossguide); "depthwise": level by level. */
  growth: "leafwise" | "depthwise";
  maxLeaves: number;
  /** Depth limit; unset = none for leaf-wise growth, 6 for depth-wise growth. */
  maxDepth?: number;
  /** L2 penalty on leaf values (XGBoost's lambda, scikit-learn's l2_regularization). */
  lambda: number;
  minChildWeight: number;
  minSamplesLeaf: number;
  minSplitGain: number;
  /** Value bins per feature (≤ 255); NaN has its own bin on top. */
  maxBins: number;
  /** Rows sampled to place the bin edges. */
  binSampleRows: number;
  /** Fraction of rows used per tree (1 = all). */
  subsample: number;
  /** Fraction of columns used per tree (1 = all). */
  colsampleByTree: number;
  /**
   * Stop when the validation log loss has not improved for this many trees, and keep the trees up to the
   * best one (needs options.validation; 0 = no early stopping, the loss is still recorded).
   */
  earlyStoppingRounds: number;
  /** Weight of the skipped class relative to played, or "balanced" (each class gets total weight n / 2). */
  scalePosWeight?: number | "balanced";
  seed: number;
  /**
   * Threads building histograms: 0 = one per core (os.availableParallelism()), 1 = this thread only. The
   * fitted trees are the same for any value (each bin is summed in row order by one thread).
   */
  threads: number;
}

export const GBDT_DEFAULTS: GradientBoostedTreesParams = {
  nEstimators: 300,
  learningRate: 0.05,
  growth: "leafwise",
  maxLeaves: 31,
  lambda: 1,
  minChildWeight: 1e-3,
  minSamplesLeaf: 20,
  minSplitGain: 0,
  maxBins: MAX_BINS,
  binSampleRows: 200_000,
  subsample: 1,
  colsampleByTree: 1,
  earlyStoppingRounds: 30,
  seed: 42,
  threads: 0,
};

function weightedLogLoss(raw: Float64Array, y: Uint8Array, w: Float64Array | null): number {
  let loss = 0;
  let total = 0;
  for (let i = 0; i < raw.length; i++) {
    const m = raw[i];
    const wi = w === null ? 1 : w[i];
    // log(1 + e^m) − y·m, stable for large |m|
    const sp = m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m));
    loss += wi * (sp - y[i] * m);
    total += wi;
  }
  return loss / total;
}

/**
 * Histogram gradient-boosted trees for the logistic loss (the XGBoost `hist` / LightGBM /
 * scikit-learn HistGradientBoosting algorithm), on typed arrays. See `gbdt/` for binning, growth and
 * the flattened predictor.
 */
export class GradientBoostedTrees implements SkipModel {
  readonly kind = "gbdt";
  readonly params: GradientBoostedTreesParams;
  private trees: Tree[] = [];
  private forest: Forest | null = null;
  private baseScore = 0;
  private cols = -1;
  /** Validation log loss after each tree (empty without validation). */
  validationLoss: number[] = [];
  /** Number of trees kept (index of the best validation iteration + 1). */
  bestIteration = 0;
  /** Threads that built histograms in the last fit (1 = this one alone). */
  fitThreads = 1;

  constructor(params: Partial<GradientBoostedTreesParams> = {}) {
    this.params = { ...GBDT_DEFAULTS, ...params };
    const p = this.params;
    if (!(p.nEstimators >= 1))
      throw new ModelInputError(`gbdt: nEstimators must be ≥ 1, got ${p.nEstimators}`);
    if (!(p.learningRate > 0))
      throw new ModelInputError(`gbdt: learningRate must be > 0, got ${p.learningRate}`);
    if (!(p.maxLeaves >= 2)) throw new ModelInputError(`gbdt: maxLeaves must be ≥ 2, got ${p.maxLeaves}`);
    if (!(p.maxBins >= 2 && p.maxBins <= MAX_BINS)) {
      throw new ModelInputError(`gbdt: maxBins must be in 2..${MAX_BINS}, got ${p.maxBins}`);
    }
    if (!(p.subsample > 0 && p.subsample <= 1))
      throw new ModelInputError(`gbdt: subsample must be in (0, 1]`);
    if (!(p.colsampleByTree > 0 && p.colsampleByTree <= 1)) {
      throw new ModelInputError(`gbdt: colsampleByTree must be in (0, 1]`);
    }
    if (!(p.minSamplesLeaf >= 1)) throw new ModelInputError(`gbdt: minSamplesLeaf must be ≥ 1`);
  }

  get treeCount(): number {
    return this.trees.length;
  }

  fit(X: Matrix, y: Uint8Array, options?: FitOptions): this {
    checkFitInputs(this.kind, X, y, options, true);
    const p = this.params;
    const { rows } = X;
    const weights = combinedWeights(
      y,
      options?.sampleWeight,
      p.scalePosWeight === undefined
        ? undefined
        : p.scalePosWeight === "balanced"
          ? "balanced"
          : { 0: 1, 1: p.scalePosWeight },
    );
    // The fixed-point gradient sums are exact up to this many rows (gbdt/loss.ts).
    if (rows >= EXACT_SUM_ROWS) throw new ModelInputError(`gbdt: at most ${EXACT_SUM_ROWS - 1} rows per fit`);
    const mapper = fitBinMapper(X, p.maxBins, p.binSampleRows, p.seed);
    const threads = p.threads > 0 ? Math.floor(p.threads) : availableParallelism();
    // Helper threads read the bins and gradients in place: they live on shared memory when there are any.
    const parallel = threads > 1 && rows >= PARALLEL_MIN_ROWS;
    const binned = binMatrix(X, mapper, parallel);

    let pos = 0;
    let neg = 0;
    for (let i = 0; i < rows; i++) {
      const wi = weights === null ? 1 : weights[i];
      if (y[i] === 1) pos += wi;
      else neg += wi;
    }
    this.baseScore = Math.log(pos / neg);

    const workspace = new BoostingWorkspace(binned.bins, rows, mapper, y, weights, threads, p.maxLeaves);
    workspace.memory.raw.fill(this.baseScore);
    const grower = new TreeGrower(workspace, mapper, {
      growth: p.growth,
      maxLeaves: p.maxLeaves,
      maxDepth: p.maxDepth ?? (p.growth === "depthwise" ? 6 : Number.POSITIVE_INFINITY),
      lambda: p.lambda,
      minChildWeight: p.minChildWeight,
      minSamplesLeaf: p.minSamplesLeaf,
      minSplitGain: p.minSplitGain,
      learningRate: p.learningRate,
    });
    try {
      this.boost(X, options, weights, workspace, grower);
    } finally {
      this.fitThreads = workspace.close();
    }
    return this;
  }

  private boost(
    X: Matrix,
    options: FitOptions | undefined,
    weights: Float64Array | null,
    workspace: BoostingWorkspace,
    grower: TreeGrower,
  ): void {
    const p = this.params;
    const { rows, cols } = X;
    const rng = new Rng(p.seed);
    const allFeatures = grower.features;
    const nColsUsed = Math.max(1, Math.round(cols * p.colsampleByTree));
    const raw = workspace.memory.raw;
    const scales = gradientScales(weights);

    const validation = options?.validation;
    const valRaw = validation ? new Float64Array(validation.X.rows).fill(this.baseScore) : null;
    const valWeights = validation ? validationWeights(validation.y, p.scalePosWeight) : null;
    let bestLoss = Number.POSITIVE_INFINITY;
    let bestIter = -1;
    this.trees = [];
    this.validationLoss = [];

    for (let iter = 0; iter < p.nEstimators; iter++) {
      workspace.gradients(scales);
      let used = rows;
      const subsampled = p.subsample < 1;
      if (subsampled) {
        used = 0;
        for (let i = 0; i < rows; i++) if (rng.next() < p.subsample) grower.rowIdx[used++] = i;
        if (used === 0) grower.rowIdx[used++] = rng.int(rows);
      } else {
        for (let i = 0; i < rows; i++) grower.rowIdx[i] = i;
      }
      if (nColsUsed < cols) {
        const perm = Int32Array.from(allFeatures);
        rng.shuffle(perm);
        grower.features = perm.slice(0, nColsUsed).sort();
      }
      const tree = grower.grow(used, !subsampled);
      if (subsampled) {
        for (let i = 0; i < rows; i++) raw[i] += treeOutput(tree, X.data, i * cols);
      } else {
        grower.addLeafValues(tree);
      }
      this.trees.push(tree);

      if (validation && valRaw) {
        const vx = validation.X;
        for (let i = 0; i < vx.rows; i++) valRaw[i] += treeOutput(tree, vx.data, i * cols);
        const loss = weightedLogLoss(valRaw, validation.y, valWeights);
        this.validationLoss.push(loss);
        if (loss < bestLoss - 1e-9) {
          bestLoss = loss;
          bestIter = iter;
        } else if (p.earlyStoppingRounds > 0 && iter - bestIter >= p.earlyStoppingRounds) {
          break;
        }
      }
      options?.onProgress?.(iter + 1, p.nEstimators);
    }
    if (validation && p.earlyStoppingRounds > 0) this.trees.length = bestIter + 1;
    this.bestIteration = this.trees.length;
    this.cols = cols;
    this.forest = flattenForest(this.trees, this.baseScore);
  }

  /** Log-odds of skipping per row. */
  decisionFunction(X: Matrix, out?: Float64Array): Float64Array {
    checkPredictInput(this.kind, X, this.cols);
    const result = outputBuffer(X.rows, out);
    predictRawBatch(this.forest as Forest, X.data, X.rows, X.cols, result);
    return result;
  }

  predictProba(X: Matrix, out?: Float64Array): Float64Array {
    const result = this.decisionFunction(X, out);
    for (let i = 0; i < X.rows; i++) result[i] = sigmoid(result[i]);
    return result;
  }

  predictOne(row: ArrayLike<number>, offset = 0): number {
    checkFitted(this.kind, this.forest !== null, "predictOne");
    return sigmoid(predictRawOne(this.forest as Forest, row, offset));
  }

  /** Total split gain (loss reduction) per column over all trees. */
  featureImportance(): Float64Array {
    checkFitted(this.kind, this.cols >= 0, "featureImportance");
    const importance = new Float64Array(Math.max(this.cols, 0));
    for (const tree of this.trees) {
      for (let k = 0; k < tree.feature.length; k++) {
        if (tree.feature[k] >= 0) importance[tree.feature[k]] += tree.gain[k];
      }
    }
    return importance;
  }

  toJSON(): ModelJSON {
    checkFitted(this.kind, this.cols >= 0, "toJSON");
    return {
      kind: this.kind,
      version: 1,
      params: { ...this.params },
      state: {
        cols: this.cols,
        baseScore: this.baseScore,
        bestIteration: this.bestIteration,
        validationLoss: [...this.validationLoss],
        trees: this.trees.map(treeToJSON),
      },
    };
  }

  static fromJSON(json: ModelJSON): GradientBoostedTrees {
    expectKind(json, "gbdt", 1);
    const model = new GradientBoostedTrees(json.params as Partial<GradientBoostedTreesParams>);
    const cols = jsonInteger("gbdt", "state.cols", json.state.cols, 0);
    model.cols = cols;
    model.baseScore = jsonFinite("gbdt", "state.baseScore", json.state.baseScore);
    model.bestIteration = json.state.bestIteration as number;
    model.validationLoss = [...((json.state.validationLoss as number[]) ?? [])];
    const trees = json.state.trees;
    if (!Array.isArray(trees)) throw new ModelInputError("gbdt: state.trees is not an array");
    model.trees = trees.map((tree, t) => treeFromJSON(tree, cols, `state.trees[${t}]`));
    model.forest = flattenForest(model.trees, model.baseScore);
    return model;
  }
}

/** Validation rows weighted like the training classes, so early stopping watches the fitted objective. */
function validationWeights(
  y: Uint8Array,
  scalePosWeight: number | "balanced" | undefined,
): Float64Array | null {
  if (scalePosWeight === undefined) return null;
  let w1 = scalePosWeight === "balanced" ? 1 : scalePosWeight;
  let w0 = 1;
  if (scalePosWeight === "balanced") {
    let n1 = 0;
    for (let i = 0; i < y.length; i++) n1 += y[i];
    const n0 = y.length - n1;
    w1 = n1 > 0 ? y.length / (2 * n1) : 1;
    w0 = n0 > 0 ? y.length / (2 * n0) : 1;
  }
  const w = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) w[i] = y[i] === 1 ? w1 : w0;
  return w;
}
