// Every error the service answers with, declared once with its code, HTTP status and message, in the style of
// @fastify/error's `createError` (one class per error). Not @fastify/error itself: it is only a transitive
// dependency here, and a direct one would need a lockfile change. error-handler.ts turns these into answers.
import { MAX_LATENESS_MS, MAX_LEAD_MS, type TimeWindow } from "./time-window.ts";

export class ServeError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    /** The request field the error is about, named in the answer. */
    readonly field?: string,
  ) {
    super(message);
    this.name = "ServeError";
  }

  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

export type ServeErrorClass<A extends unknown[]> = new (...args: A) => ServeError;

export function createError<A extends unknown[]>(
  code: string,
  statusCode: number,
  message: (...args: A) => string,
  field?: (...args: A) => string,
): ServeErrorClass<A> {
  return class extends ServeError {
    constructor(...args: A) {
      super(code, statusCode, message(...args), field?.(...args));
    }
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

// 400: the request cannot be served as sent.

export const InvalidFieldError = createError(
  "SKIPWISE_INVALID_FIELD",
  400,
  (field: string, problem: string) => `field "${field}" ${problem}`,
  (field) => field,
);

export const TimeOutsideWindowError = createError(
  "SKIPWISE_TIME_OUTSIDE_WINDOW",
  400,
  (field: string, ms: number, window: TimeWindow) =>
    `field "${field}" (${iso(ms)}) is outside the accepted window ${Number.isFinite(window.minMs) ? iso(window.minMs) : "1990"} .. ${iso(window.maxMs)} (at most ${MAX_LATENESS_MS / 86_400_000} days behind the latest time clients sent, ${MAX_LEAD_MS / 3_600_000} h ahead of the service clock)`,
  (field) => field,
);

export const UnknownModelError = createError(
  "SKIPWISE_UNKNOWN_MODEL",
  400,
  (field: string, model: string, available: readonly string[]) =>
    `field "${field}": unknown model "${model}", available: ${available.join(", ")}`,
  (field) => field,
);

export const ListenFieldRequiredError = createError(
  "SKIPWISE_LISTEN_FIELD_REQUIRED",
  400,
  (field: string) => `field "${field}" is required when "decision_id" is absent`,
  (field) => field,
);

export const HeardBeyondDurationError = createError(
  "SKIPWISE_HEARD_BEYOND_DURATION",
  400,
  (heardMs: number, durationMs: number) =>
    `field "heard_ms" (${heardMs}) exceeds the track's duration (${durationMs} ms)`,
  () => "heard_ms",
);

export const InvalidEventError = createError(
  "SKIPWISE_INVALID_EVENT",
  400,
  (field: string, problem: string) => `${field}: ${problem}`,
  (field) => field,
);

// 401, 403: the admin routes.

export const ApiKeyRefusedError = createError(
  "SKIPWISE_API_KEY_REFUSED",
  401,
  () => 'missing or wrong "x-api-key" header',
  () => "x-api-key",
);

export const AdminDisabledError = createError(
  "SKIPWISE_ADMIN_DISABLED",
  403,
  () => "admin routes are disabled: start the server with an API key",
);

// 404, 409: what the request names does not exist, or was already done.

export const RouteNotFoundError = createError(
  "SKIPWISE_ROUTE_NOT_FOUND",
  404,
  (method: string, path: string) => `no route ${method} ${path}`,
);

export const ModelMissingError = createError(
  "SKIPWISE_MODEL_MISSING",
  404,
  (bundleVersion: string, model: string) => `the bundle ${bundleVersion} has no "${model}" model`,
);

export const DecisionNotFoundError = createError(
  "SKIPWISE_DECISION_NOT_FOUND",
  404,
  (decisionId: string) => `no decision with decision_id "${decisionId}"`,
  () => "decision_id",
);

export interface ListenKey {
  userId: number;
  trackId: string;
  sessionId: number | null;
}

export const OpenListenNotFoundError = createError(
  "SKIPWISE_OPEN_LISTEN_NOT_FOUND",
  404,
  (listen: ListenKey, capacity: number) =>
    `no open decision for user ${listen.userId}, track "${listen.trackId}"${listen.sessionId === null ? "" : `, session ${listen.sessionId}`} among the last ${capacity} decisions: send its decision_id, or the listen's events to POST /v1/events`,
  () => "track_id",
);

export const DuplicateFeedbackError = createError(
  "SKIPWISE_DUPLICATE_FEEDBACK",
  409,
  (decisionId: string) => `decision "${decisionId}" already has feedback`,
  () => "decision_id",
);

// 422: a bundle that failed validation; the old one keeps serving.

export const BundleRefusedError = createError(
  "SKIPWISE_BUNDLE_REFUSED",
  422,
  (reason: string) => reason,
  () => "bundle",
);
export type BundleRefusedError = InstanceType<typeof BundleRefusedError>;

// 5xx: nothing was recorded, so the same request can be retried.

export const InternalError = createError("SKIPWISE_INTERNAL", 500, () => "internal error");

export const ServiceClosingError = createError("SKIPWISE_CLOSING", 503, () => "service is shutting down");

export const DecisionLogUnavailableError = createError(
  "SKIPWISE_DECISION_LOG_UNAVAILABLE",
  503,
  () => "decision log unavailable: nothing was recorded; retry later",
);

export const FeatureStateUnavailableError = createError(
  "SKIPWISE_FEATURE_STATE_UNAVAILABLE",
  503,
  () => "online feature state (Redis) unavailable: retry later",
);
