// Probes and scrapes: liveness, readiness (bundle loaded, decision log writable, the policy) and metrics.
import type { FastifyInstance } from "fastify";
import type { DecisionCore, Readiness } from "../decision-core.ts";
import { healthSchema, metricsSchema, readySchema } from "../schemas.ts";

/** Exempt from the rate limit: probes and scrapes come from the same hosts as traffic. */
export const PROBE_PATHS = { health: "/health", ready: "/ready", metrics: "/metrics" } as const;

export async function operationsRoutes(
  app: FastifyInstance,
  { core }: { core: DecisionCore },
): Promise<void> {
  app.get(PROBE_PATHS.health, { schema: healthSchema }, () => ({ status: "ok" }));

  app.get(PROBE_PATHS.ready, { schema: readySchema }, (_request, reply) => {
    const readiness = core.readiness();
    if (readiness.kind !== "ready") return reply.code(503).send(notReadyAnswer(readiness));
    return {
      status: "ready",
      bundle_version: readiness.bundleVersion,
      bundle_dir: readiness.bundleDir,
      state_clock_ms: readiness.stateClockMs,
      models: readiness.models,
      policy: { ...readiness.policy, decisions: readiness.decisions },
    };
  });

  app.get(PROBE_PATHS.metrics, { schema: metricsSchema }, async (_request, reply) => {
    reply.header("content-type", core.metrics.registry.contentType);
    return core.metrics.registry.metrics();
  });
}

function notReadyAnswer(readiness: Exclude<Readiness, { kind: "ready" }>) {
  if (readiness.kind === "closing") return { status: "closing" };
  const { problem } = readiness;
  return {
    status: problem?.kind === "corrupt" ? "decision log corrupt" : "decision log not writable",
    message: problem?.message,
    bundle_version: readiness.bundleVersion,
  };
}
