// The one place errors become answers: `{statusCode, error, message, field?}`, with the standard reason phrase.
import { STATUS_CODES } from "node:http";
import type { FastifyBaseLogger, FastifyError, FastifyInstance } from "fastify";
import { FeatureStoreUnavailableError } from "../features/redis-store.ts";
import { DecisionLogClosedError, DecisionLogWriteError } from "./decision-log.ts";
import {
  DecisionLogUnavailableError,
  FeatureStateUnavailableError,
  InternalError,
  InvalidFieldError,
  RouteNotFoundError,
  ServeError,
  ServiceClosingError,
} from "./errors.ts";

/** What a client is told about a failed request. */
type Refusal = Pick<ServeError, "statusCode" | "message" | "field">;

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const refusal = refusalOf(error, request.log);
    return reply.code(refusal.statusCode).send(answerOf(refusal));
  });
  app.setNotFoundHandler((request, reply) => {
    const refusal = new RouteNotFoundError(request.method, request.url.split("?")[0]);
    reply.code(refusal.statusCode).send(answerOf(refusal));
  });
}

function answerOf(refusal: Refusal): Record<string, unknown> {
  const answer: Record<string, unknown> = {
    statusCode: refusal.statusCode,
    error: STATUS_CODES[refusal.statusCode] ?? "Client Error",
    message: refusal.message,
  };
  if (refusal.field) answer.field = refusal.field;
  return answer;
}

function refusalOf(error: FastifyError | Error, log: FastifyBaseLogger): Refusal {
  if ("validation" in error && error.validation && error.validation.length > 0)
    return validationRefusal(error);
  if (error instanceof ServeError) return error;
  // Client errors raised by Fastify or a plugin (malformed JSON, 413, 415, 429) keep their own message.
  if ("statusCode" in error && isClientError(error.statusCode)) {
    return { statusCode: error.statusCode, message: error.message };
  }
  if (error instanceof DecisionLogClosedError) return new ServiceClosingError();
  if (error instanceof DecisionLogWriteError) {
    log.error({ err: error }, "decision not logged");
    return new DecisionLogUnavailableError();
  }
  if (error instanceof FeatureStoreUnavailableError) {
    log.error({ err: error }, "feature state unavailable");
    return new FeatureStateUnavailableError();
  }
  log.error({ err: error }, "request failed");
  return new InternalError();
}

function isClientError(status: unknown): status is number {
  return typeof status === "number" && status >= 400 && status < 500;
}

/** The first schema violation, named by its field path (`items.3.session.position`). */
function validationRefusal(error: FastifyError): Refusal {
  const issue = (error.validation ?? [])[0];
  const missing = (issue.params as { missingProperty?: string }).missingProperty;
  const path = issue.instancePath.replace(/^\//, "").replaceAll("/", ".");
  if (missing) return new InvalidFieldError(path ? `${path}.${missing}` : missing, "is required");
  return new InvalidFieldError(path || error.validationContext || "body", issue.message ?? "is invalid");
}
