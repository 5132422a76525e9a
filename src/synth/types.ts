// Options, size presets and outputs of the synthetic delivery generator.

export const DIALECTS = ["2023L", "2023Z", "epoch"] as const;
export type Dialect = (typeof DIALECTS)[number];

export const SIZE_NAMES = ["small", "demo", "production"] as const;
export type SizeName = (typeof SIZE_NAMES)[number];

/** How much to generate. Session events come out at about 34 per session. */
export interface SizeSpec {
  users: number;
  artists: number;
  tracks: number;
  sessions: number;
  /** Length of the period the sessions are spread over. */
  days: number;
}

export const SIZES: Record<SizeName, SizeSpec> = {
  small: { users: 20, artists: 100, tracks: 300, sessions: 150, days: 60 },
  demo: { users: 300, artists: 1_500, tracks: 6_000, sessions: 4_500, days: 120 },
  production: { users: 5_000, artists: 27_650, tracks: 130_000, sessions: 140_000, days: 180 },
};

export interface GenerateOptions {
  /** Directory to create. Written into a sibling temp directory first, then renamed. */
  out: string;
  size?: SizeName | SizeSpec;
  seed?: number;
  dialect?: Dialect;
  /** Defect kind -> probability per eligible row (see src/synth/defects.ts). */
  defects?: Partial<Record<string, number>>;
  gzip?: boolean;
  /** Write `explicit` as true/false instead of 0/1. */
  explicitBool?: boolean;
  /**
   * Drift day (whole days from the period's first day, 2023-01-01 UTC, 0-based): plays starting at or after
   * that day's 00:00 UTC get a P(skip) that depends on neither user nor session (src/synth/drift.ts). A day
   * at or past the period's end means no drift. Undefined: no drift, the default bytes.
   */
  driftAt?: number;
  /** Replace an existing non-empty `out` directory. */
  force?: boolean;
  /** Called as sessions are generated: (sessions done, sessions total). */
  onProgress?: (done: number, total: number) => void;
}

export interface GenerateSummary {
  dir: string;
  manifest: Manifest;
  seconds: number;
}

export interface TruthSummary {
  plays: number;
  skips: number;
  skipShare: number;
  meanPSkip: number;
  /** ROC AUC of the true probabilities against the drawn outcomes: the ceiling for any model. */
  rocAuc: number;
}

export interface Manifest {
  generator: "skipwise-synth";
  version: number;
  seed: number;
  size: SizeName | "custom";
  sizes: SizeSpec;
  dialect: Dialect;
  explicitBool: boolean;
  gzip: boolean;
  files: Record<string, { name: string; lines: number; bytes: number }>;
  counts: {
    users: number;
    artists: number;
    tracks: number;
    sessions: number;
    /** Session events of the clean data (before defect injection). */
    events: number;
    eventsByKind: Record<string, number>;
    premiumUsers: number;
  };
  timeRange: { from: string; to: string };
  defectRates: Record<string, number>;
  /** Defect kind -> rows actually injected (every kind present, 0 when not asked). */
  injected: Record<string, number>;
  /** Per file, the injected kinds with non-zero counts. */
  injectedByFile: Record<string, Record<string, number>>;
  /** Injected rows the agreed repair rules can fix, and the rest. */
  repairable: { null_user_id: number; null_track_id: number };
  unrepairable: { null_user_id: number; null_track_id: number };
  truth: TruthSummary;
  skipModel: Record<string, number>;
  /** Present only when the delivery was generated with a drift day (`--drift-at`). */
  drift?: DriftSummary;
}

export interface DriftSummary {
  /** The asked day, 0-based from the period's first day (2023-01-01 UTC). */
  day: number;
  /** Start of that day, ISO: plays starting at or after it use the drifted model. */
  from: string;
  /** False when the day is at or past the period's end: the data is then that of no drift. */
  applied: boolean;
  /** Logit added to the intercept after the drift (fitted so the mean true P(skip) does not jump). */
  interceptOffset: number;
  playsBefore: number;
  playsAfter: number;
  meanPSkipBefore: number;
  meanPSkipAfter: number;
}
