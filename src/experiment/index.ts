export { analyzeExperiment, cacheMetricsOf, clusteredRatio, validateRecord } from "./analyze.ts";
export { cupedAdjust, cupedTheta, summarise } from "./cuped.ts";
export { type ProportionDifference, proportionDifference, twoProportionZTest } from "./proportions.ts";
export { abtestReport, abtestSummary, type ReportOptions, writeAbtestReport } from "./report.ts";
export { type SrmResult, sampleRatioMismatch } from "./srm.ts";
export type * from "./types.ts";
