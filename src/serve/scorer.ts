// The contract between the HTTP layer and whatever turns (user, track, context) into P(skip).
// The server only knows this interface; `BundleScorer` implements it over a trained bundle.

/** Optional session context a client sends with a prediction request. */
export interface SessionContext {
  sessionId?: number;
  /** 0-based position of this listen in the session. */
  position?: number;
  /** Outcome of the previous listen in the session: true = skipped, false = played out, null/absent = none. */
  previousSkipped?: boolean | null;
}

export interface ScoreRequest {
  userId: number;
  trackId: string;
  session?: SessionContext;
  /** Epoch ms of the listen; the scorer uses the current time when absent. */
  atMs?: number;
}

export interface ColdStart {
  /** The user was never observed: user features fall back to priors. */
  user: boolean;
  /** The track is not in the catalogue or was never observed: track features fall back to priors. */
  track: boolean;
}

export interface Score {
  probSkip: number;
  coldStart: ColdStart;
}

/** A real outcome reported back by a client. */
export interface ListenOutcome {
  userId: number;
  trackId: string;
  sessionId?: number;
  position?: number;
  skipped: boolean;
  /** Audio actually heard; NaN when the client did not say. */
  heardMs: number;
  atMs: number;
}

export interface Scorer {
  readonly bundleVersion: string;
  readonly modelNames: readonly string[];
  readonly defaultModel: string;
  /** Decision threshold of a model: SKIP when P(skip) >= threshold. */
  threshold(model: string): number;
  score(model: string, request: ScoreRequest): Score;
  scoreBatch(model: string, requests: readonly ScoreRequest[]): Score[];
  /** Feeds a real outcome into the online feature state so later predictions see it. */
  learn(outcome: ListenOutcome): void;
  /** Duration of a catalogue track in ms, NaN when unknown (used for the cache-waste counters). */
  trackDurationMs(trackId: string): number;
}

export type Decision = "PLAY" | "SKIP";

export function decide(probSkip: number, threshold: number): Decision {
  return probSkip >= threshold ? "SKIP" : "PLAY";
}
