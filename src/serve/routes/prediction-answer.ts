// The /v1 answer for one scored decision.
import { FEATURE_SCHEMA } from "../../features/schema.ts";
import type { Prediction } from "../decision-core.ts";

export function predictionAnswer({ row, score }: Prediction) {
  return {
    decision_id: row.id,
    model: row.model,
    model_version: row.bundleVersion,
    experiment: row.experiment,
    variant: row.variant,
    prob_skip: row.probSkip,
    threshold: row.threshold,
    decision: row.decision,
    prediction: row.decision,
    cold_start: score.coldStart,
    ...(score.features ? { features: namedFeatures(score.features) } : {}),
  };
}

/** A scored vector by feature name; NaN (a missing value) becomes null in JSON. */
function namedFeatures(values: Float32Array): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  FEATURE_SCHEMA.names.forEach((name, i) => {
    out[name] = Number.isNaN(values[i]) ? null : values[i];
  });
  return out;
}
