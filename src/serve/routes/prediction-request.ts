// A prediction request as the decision core takes it: the body as an input, and the route it is logged under.
import type { FastifyRequest } from "fastify";
import type { PredictionInput } from "../decision-core.ts";
import type { PredictBody } from "../schemas.ts";
import type { SessionContext } from "../scorer.ts";

export function predictionInput(body: PredictBody, fieldPrefix: string): PredictionInput {
  return {
    userId: body.user_id,
    trackId: body.track_id,
    model: body.model,
    session: toSession(body.session),
    atMs: body.timestamp_ms,
    explain: body.explain === true,
    fieldPrefix,
  };
}

/** The registered path, prefix included (`/v1/predict`): the decision log's `route`. */
export function loggedRoute(request: FastifyRequest): string {
  return request.routeOptions.url ?? request.url;
}

function toSession(body: PredictBody["session"]): SessionContext | undefined {
  if (!body) return undefined;
  return {
    sessionId: body.session_id,
    position: body.position,
    // Absent = the service's own record of the session; null = the client says there was none.
    previousSkipped:
      body.previous_outcome === undefined
        ? undefined
        : body.previous_outcome === null
          ? null
          : body.previous_outcome === "skipped",
  };
}
