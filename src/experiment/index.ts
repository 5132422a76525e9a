export { analyzeExperiment, cacheMetricsOf, clusteredRatio, validateRecord } from "./analyze.ts";
export { cupedAdjust, cupedTheta, summarise } from "./cuped.ts";
export { chiSquareSurvival, logGamma, regularizedGammaP, regularizedGammaQ } from "./gamma.ts";
export { normalCdf, normalPdf, normalQuantile, normalSurvival } from "./normal.ts";
export {
  criticalValue,
  type Interval,
  type ProportionDifference,
  proportionDifference,
  twoProportionZTest,
  wilsonInterval,
} from "./proportions.ts";
export { abtestReport, abtestSummary, type ReportOptions, writeAbtestReport } from "./report.ts";
export { type SrmResult, sampleRatioMismatch } from "./srm.ts";
export type * from "./types.ts";
