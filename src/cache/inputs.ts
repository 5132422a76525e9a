// Builds the simulator's inputs from a time-ordered dataset: the listens of the replayed rows, each
// model's P(skip) on them, and the naive genre rule's decisions (genreRuleSkip, the function
// NaiveGenreModel serves, so a recommended naive rule replays as served).
import type { Catalog } from "../data/types.ts";
import { genreRuleSkip } from "../models/baselines.ts";
import type { Model } from "../models/types.ts";
import type { TrainingDataset } from "../train/pipeline.ts";
import { selectRows } from "../train/split.ts";
import type { CacheListen, ModelScores } from "./types.ts";

export interface ThresholdedModel {
  name: string;
  model: Pick<Model, "predictProba">;
  /** Chosen operating threshold: predict SKIP (do not prefetch) when P(skip) ≥ threshold. */
  threshold: number;
}

export interface CacheInputs {
  listens: CacheListen[];
  models: ModelScores[];
  /** 1 = SKIP per genreRuleSkip (genre_match = 0; an unknown match is PLAY). Absent without a `genre_match` column. */
  genreRuleSkip?: Uint8Array;
}

/** `rows`: the dataset rows to replay (for example the test part of a time split), in time order. */
export function cacheInputsFromDataset(
  dataset: TrainingDataset,
  catalog: Catalog,
  rows: Int32Array,
  models: readonly ThresholdedModel[],
): CacheInputs {
  const listens: CacheListen[] = new Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const i = rows[k];
    if (!(i >= 0 && i < dataset.y.length))
      throw new RangeError(`dataset row ${i} is outside 0..${dataset.y.length - 1}`);
    const track = catalog.tracks[dataset.trackIndex[i]];
    if (!track)
      throw new RangeError(`dataset row ${i}: track index ${dataset.trackIndex[i]} is not in the catalog`);
    listens[k] = {
      userId: dataset.userId[i],
      sessionId: dataset.sessionId[i],
      trackId: track.id,
      durationMs: Number.isFinite(dataset.durationMs[i]) ? dataset.durationMs[i] : track.durationMs,
      heardMs: dataset.heardMs[i],
      skipped: dataset.y[i] === 1,
      startMs: dataset.startMs[i],
    };
  }
  const X = selectRows(dataset.X, rows);
  const scores = models.map((m) => ({
    name: m.name,
    pSkip: m.model.predictProba(X),
    threshold: m.threshold,
  }));
  const genreColumn = dataset.featureNames.indexOf("genre_match");
  const genreDecisions =
    genreColumn < 0
      ? undefined
      : Uint8Array.from(rows, (_, k) => genreRuleSkip(X.data[k * X.cols + genreColumn]));
  return { listens, models: scores, genreRuleSkip: genreDecisions };
}
