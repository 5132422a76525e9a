// The contract between the HTTP layer and whatever turns (user, track, context) into P(skip).
// The server only knows this interface; `BundleScorer` implements it over a trained bundle.

import type { EventRecord } from "../data/event-record.ts";
import type { ColdStart } from "../features/types.ts";
import type { CostModel } from "../listens/cost-model.ts";

// Which of a score's features fell back to priors: declared by the features stage, which decides it.
export type { ColdStart };

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
  /** Return the feature vector the model scored (for `skipwise parity` and debugging). */
  explain?: boolean;
}

export interface Score {
  probSkip: number;
  coldStart: ColdStart;
  /** The scored feature vector (FEATURE_SCHEMA order), when the request asked to explain. */
  features?: Float32Array;
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

/**
 * The bundle's prefetch policy, chosen on the validation period: "cache-all" answers PLAY (prefetch) to every
 * request whatever the model says, "cache-nothing" SKIP, "model" applies each model's threshold rule.
 */
export interface ServedPolicy {
  kind: "cache-all" | "cache-nothing" | "model";
  /** The recommended model when kind is "model". */
  model: string | null;
  threshold: number | null;
}

export interface Scorer {
  readonly bundleVersion: string;
  /**
   * Identity of the feature-state snapshot the online state started from: what is learned online is
   * journaled under it, and a scorer with the same origin (a restart, a reload of the same snapshot)
   * learns the journal again.
   */
  readonly stateOrigin: string;
  /** Decides every answer on every route together with `decide`. */
  readonly policy: ServedPolicy;
  /** The cost model the policy was chosen under: what the service prices its own decisions with online. */
  readonly costModel: CostModel;
  readonly modelNames: readonly string[];
  readonly defaultModel: string;
  /** Decision threshold of a model: SKIP when P(skip) >= threshold. */
  threshold(model: string): number;
  /**
   * Scores a request. The feature vector is computed once per request object: its shadow scores (the same
   * object, other models) read the same vector.
   */
  score(model: string, request: ScoreRequest): Promise<Score>;
  scoreBatch(model: string, requests: readonly ScoreRequest[]): Promise<Score[]>;
  /** Feeds a real outcome into the online feature state so later predictions see it. */
  learn(outcome: ListenOutcome): Promise<void>;
  /** Latest event or request time the online state has seen since the bundle was loaded (-Infinity: none). */
  readonly stateClockMs: number;
  /** Feeds session events (as the delivery states them) into the online feature state, in order. */
  applyEvents(events: readonly EventRecord[]): Promise<void>;
  /**
   * True when the online state lives outside this process (Redis) and outlives it: what the journal holds
   * is learned there already, so a restart or reload must not learn it again.
   */
  readonly sharedState: boolean;
  /** Duration of a catalogue track in ms, NaN when unknown (used for the cache-waste counters). */
  trackDurationMs(trackId: string): number;
  /** Releases what the scorer holds outside the process (a Redis connection); called once it is swapped out. */
  close(): Promise<void>;
}

export type Decision = "PLAY" | "SKIP";

/**
 * The served decision. Under the "cache-all" policy every request is PLAY (prefetch) and under
 * "cache-nothing" every request is SKIP, whichever model or variant scored it; under "model" (and without
 * a policy) SKIP when P(skip) >= the scoring model's threshold.
 */
export function decide(probSkip: number, threshold: number, policy?: Pick<ServedPolicy, "kind">): Decision {
  if (policy?.kind === "cache-all") return "PLAY";
  if (policy?.kind === "cache-nothing") return "SKIP";
  return probSkip >= threshold ? "SKIP" : "PLAY";
}
