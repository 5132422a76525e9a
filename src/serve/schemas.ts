// JSON schemas of every route: validation (Ajv), fast serialisation and the OpenAPI document at /docs.
import type { FromSchema } from "./schema-types.ts";

/** Ids are 32-bit in the feature state: larger values are refused rather than silently wrapped. */
const INT32_MAX = 2_147_483_647;
const userId = {
  type: "integer",
  minimum: 0,
  maximum: INT32_MAX,
  description: "Listener id (users.jsonl `user_id`)",
} as const;
const sessionId = { type: "integer", minimum: 0, maximum: INT32_MAX } as const;
const trackId = {
  type: "string",
  minLength: 1,
  maxLength: 128,
  description: "Track id (tracks.jsonl `id`)",
} as const;
const prediction = { type: "string", enum: ["PLAY", "SKIP"] } as const;
const errorBody = {
  type: "object",
  properties: {
    statusCode: { type: "integer" },
    error: { type: "string" },
    message: { type: "string" },
    field: { type: "string" },
  },
  required: ["statusCode", "error", "message"],
} as const;
const errors = {
  400: errorBody,
  404: errorBody,
  413: errorBody,
  415: errorBody,
  429: errorBody,
  503: errorBody,
};

/** Epoch ms bounded like a delivery's timestamps (1990..2100): no clock far outside the data's. */
const timestampMs = (description: string) =>
  ({ type: "integer", minimum: 631_152_000_000, maximum: 4_102_444_799_999, description }) as const;

export const referenceBody = {
  type: "object",
  properties: {
    user_id: userId,
    track_id: trackId,
    timestamp_ms: timestampMs("Listen start, epoch ms (default: now)"),
  },
  required: ["user_id", "track_id"],
} as const;

export const referenceSchema = {
  tags: ["reference"],
  body: referenceBody,
  response: {
    200: {
      type: "object",
      properties: { prediction },
      required: ["prediction"],
    },
    ...errors,
  },
} as const;

export const abtestSchema = {
  tags: ["reference"],
  summary: "The reference's A/B route: the user's sticky variant decides the model; the decision is logged",
  body: referenceBody,
  response: {
    200: {
      type: "object",
      properties: {
        model: { type: "string" },
        prediction,
        variant: { type: "string" },
        decision_id: { type: "string" },
      },
      required: ["model", "prediction", "variant", "decision_id"],
    },
    ...errors,
  },
} as const;

const sessionContext = {
  type: "object",
  description: "Where this listen sits in the listening session; feeds the session features",
  properties: {
    session_id: sessionId,
    position: {
      type: "integer",
      minimum: 0,
      maximum: 100_000,
      description: "0-based position of the listen in the session (at most 100,000)",
    },
    previous_outcome: {
      type: ["string", "null"],
      enum: ["skipped", "played", null],
      description: "Outcome of the previous listen in the session",
    },
  },
  additionalProperties: false,
} as const;

const predictItem = {
  type: "object",
  properties: {
    user_id: userId,
    track_id: trackId,
    model: {
      type: "string",
      minLength: 1,
      maxLength: 64,
      description: "Model to use; omitted = the experiment assigns one",
    },
    session: sessionContext,
    timestamp_ms: timestampMs("Listen start, epoch ms (default: now)"),
    explain: {
      type: "boolean",
      description: "Also return the feature vector the model scored (`features`, by feature name)",
    },
  },
  required: ["user_id", "track_id"],
} as const;

const predictAnswer = {
  type: "object",
  properties: {
    decision_id: { type: "string" },
    model: { type: "string" },
    model_version: { type: "string", description: "Version of the bundle the model comes from" },
    experiment: { type: ["string", "null"] },
    variant: { type: ["string", "null"] },
    prob_skip: { type: "number" },
    threshold: { type: "number" },
    decision: prediction,
    prediction,
    cold_start: {
      type: "object",
      properties: { user: { type: "boolean" }, track: { type: "boolean" } },
      required: ["user", "track"],
    },
    features: {
      type: "object",
      description: "With explain: the scored vector by feature name (null = missing value)",
      additionalProperties: { type: ["number", "null"] },
    },
  },
  required: [
    "decision_id",
    "model",
    "model_version",
    "experiment",
    "variant",
    "prob_skip",
    "threshold",
    "decision",
    "prediction",
    "cold_start",
  ],
} as const;

export const predictSchema = {
  tags: ["v1"],
  summary: "P(skip) and the cache decision for one listen; logged durably before the answer",
  body: predictItem,
  response: { 200: predictAnswer, ...errors },
} as const;

export const MAX_BATCH = 1000;

export const predictBatchSchema = {
  tags: ["v1"],
  summary: "Many predictions in one request (one group commit)",
  body: {
    type: "object",
    properties: { items: { type: "array", items: predictItem, minItems: 1, maxItems: MAX_BATCH } },
    required: ["items"],
  },
  response: {
    200: { type: "object", properties: { predictions: { type: "array", items: predictAnswer } } },
    ...errors,
  },
} as const;

export const feedbackSchema = {
  tags: ["v1"],
  summary: "The real outcome of a listen, by decision id or by user + track (+ session)",
  body: {
    type: "object",
    properties: {
      decision_id: { type: "string", minLength: 1, maxLength: 64 },
      user_id: userId,
      track_id: trackId,
      session_id: sessionId,
      outcome: { type: "string", enum: ["skipped", "played"] },
      heard_ms: {
        type: "number",
        minimum: 0,
        maximum: 86_400_000,
        description: "Audio actually heard, ms: at most the track's duration (+1 s) and 24 h",
      },
      timestamp_ms: timestampMs("Listen start, epoch ms (default: the decision's time)"),
    },
    required: ["outcome"],
  },
  response: {
    200: {
      type: "object",
      properties: {
        decision_id: { type: ["string", "null"] },
        matched: { type: "boolean" },
        correct: { type: ["boolean", "null"] },
      },
      required: ["decision_id", "matched", "correct"],
    },
    409: errorBody,
    ...errors,
  },
} as const;

export const MAX_EVENTS = 10_000;

export const eventsSchema = {
  tags: ["v1"],
  summary:
    "Session events in the delivery's own schema (play, skip, like, advertisement, buy_premium; any dialect the loader reads), applied in order to the online feature state",
  body: {
    type: "object",
    properties: {
      events: {
        type: "array",
        minItems: 1,
        maxItems: MAX_EVENTS,
        items: { type: "object", description: "One sessions.jsonl record" },
      },
    },
    required: ["events"],
    additionalProperties: false,
  },
  response: {
    200: {
      type: "object",
      properties: {
        accepted: { type: "integer" },
        learned: { type: "integer", description: "Events journaled and applied to the online state" },
        repeats: {
          type: "integer",
          description:
            "Exact repeats of recently received events (a retried batch): acknowledged, not learned twice",
        },
      },
      required: ["accepted", "learned", "repeats"],
    },
    ...errors,
  },
} as const;

export const healthSchema = {
  tags: ["operations"],
  response: { 200: { type: "object", properties: { status: { type: "string" } }, required: ["status"] } },
} as const;

const readyBody = {
  type: "object",
  properties: {
    status: { type: "string" },
    message: { type: "string", description: "When not ready: why (the decision log's error)" },
    bundle_version: { type: "string" },
    bundle_dir: { type: "string", description: "Directory the served bundle was loaded from" },
    state_clock_ms: {
      type: ["number", "null"],
      description:
        "Latest event or request time the online feature state has seen since the bundle was loaded",
    },
    models: { type: "array", items: { type: "string" } },
    policy: {
      type: "object",
      description:
        "The bundle's recommended prefetch policy, and whether it decides (decisions: policy) or each model decides at its own threshold (decisions: models, `skipwise serve --decisions models`)",
      properties: {
        kind: { type: "string", enum: ["cache-all", "cache-nothing", "model"] },
        model: { type: ["string", "null"] },
        threshold: { type: ["number", "null"] },
        decisions: { type: "string", enum: ["policy", "models"] },
      },
    },
  },
  required: ["status"],
} as const;

export const readySchema = {
  tags: ["operations"],
  response: { 200: readyBody, 503: readyBody },
} as const;

export const metricsSchema = {
  tags: ["operations"],
  summary: "Prometheus text exposition",
  response: { 200: { type: "string" } },
} as const;

export const reloadSchema = {
  tags: ["operations"],
  summary:
    "Load a new bundle (default: the current bundle directory again); refused bundles leave the old one serving",
  headers: {
    type: "object",
    properties: { "x-api-key": { type: "string" } },
  },
  body: {
    type: ["object", "null"],
    properties: { bundle: { type: "string", minLength: 1 } },
  },
  response: {
    200: {
      type: "object",
      properties: {
        status: { type: "string" },
        bundle_version: { type: "string" },
        previous_version: { type: "string" },
        online_state: {
          type: "string",
          enum: ["kept", "reset"],
          description:
            "kept: same feature-state snapshot, everything learned online carried over; reset: another snapshot, online learning starts afresh from it",
        },
        relearned_items: { type: "integer" },
        models: { type: "array", items: { type: "string" } },
      },
      required: ["status", "bundle_version"],
    },
    401: errorBody,
    403: errorBody,
    422: errorBody,
    ...errors,
  },
} as const;

// The request bodies as the handlers read them, derived from the schemas above.
export type ReferenceBody = FromSchema<typeof referenceBody>;
export type PredictBody = FromSchema<typeof predictItem>;
export type PredictBatchBody = FromSchema<typeof predictBatchSchema.body>;
export type FeedbackBody = FromSchema<typeof feedbackSchema.body>;
export type EventsBody = FromSchema<typeof eventsSchema.body>;
export type ReloadBody = FromSchema<typeof reloadSchema.body>;
