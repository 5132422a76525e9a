// The serve stage: the prediction service, its A/B assignment, decision log and metrics.
export { type AppOptions, BundleRefusedError, buildApp, type ServiceControl } from "./app.ts";
export { bucketRanges, chooseVariant, fnv1a32, growthbookHash } from "./bucketing.ts";
export { BundleScorer, bundleLoader, type ServedModel, scorerFromBundle } from "./bundle-scorer.ts";
export { resolveServeConfig, type ServeConfig } from "./config.ts";
export type { DecisionLog, DecisionRow, FeedbackRow } from "./decision-log.ts";
export {
  Assigner,
  defaultExperiment,
  type ExperimentConfig,
  parseExperimentConfig,
  readExperimentConfig,
} from "./experiment.ts";
export {
  type AnalysisRecord,
  collectDecisionRecords,
  decisionRecords,
  exportLogJsonl,
  iterateDecisionRecords,
  type LoggedDecisionRecord,
  readAnalysisRecords,
  readDecisionRecords,
} from "./log-export.ts";
export { ServeMetrics } from "./metrics.ts";
export type {
  ColdStart,
  Decision,
  ListenOutcome,
  Score,
  ScoreRequest,
  Scorer,
  SessionContext,
} from "./scorer.ts";
export { openDecisionLog, runServe } from "./server.ts";
export { SqliteDecisionLog } from "./sqlite-decision-log.ts";
