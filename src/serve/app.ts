// The prediction service as a Fastify app factory: composes the HTTP instance, the decision core and the
// route plugins. `buildApp` never listens; `skipwise serve` does.
import type { FastifyInstance } from "fastify";
import { DecisionCore, type ServiceControl } from "./decision-core.ts";
import type { DecisionLog } from "./decision-log.ts";
import { installErrorHandler } from "./error-handler.ts";
import type { ExperimentConfig } from "./experiment.ts";
import { createHttpInstance, type HttpOptions } from "./http-instance.ts";
import { ServeMetrics } from "./metrics.ts";
import { type RateLimitOptions, registerRateLimit } from "./rate-limit.ts";
import { declareRoutesAtZero, observeRequests } from "./request-metrics.ts";
import { adminRoutes } from "./routes/admin.ts";
import { registerDocs } from "./routes/docs.ts";
import { operationsRoutes } from "./routes/operations.ts";
import { referenceRoutes } from "./routes/reference.ts";
import { v1Routes } from "./routes/v1.ts";
import type { Scorer } from "./scorer.ts";

export type { ReloadResult, ServiceControl } from "./decision-core.ts";
export { BundleRefusedError } from "./errors.ts";

export interface AppOptions extends HttpOptions {
  scorer: Scorer;
  /** Directory the scorer came from: the default target of a reload. */
  bundleDir?: string;
  /** Builds a scorer from a bundle directory; throws when the bundle fails validation. Enables reloads. */
  loadScorer?: (dir: string) => Promise<Scorer> | Scorer;
  /** Durable decision log; the app closes it on close. */
  log: DecisionLog;
  /** Default: the bundle's naive model vs its default model, 50/50. */
  experiment?: ExperimentConfig;
  /** Key for the admin routes (header `x-api-key`); admin routes answer 403 when none is set. */
  apiKey?: string;
  /** Requests per client per window; undefined or 0 = no rate limit. */
  rateLimit?: RateLimitOptions;
  /** Include Node process metrics in /metrics (default true). */
  processMetrics?: boolean;
  /** "policy" (default): the bundle's policy decides; "models": each model at its threshold, whatever the policy. */
  decisions?: "policy" | "models";
  /** The live guardrail (default on): a variant whose model costs more than caching everything serves PLAY. */
  guardrail?: boolean;
}

declare module "fastify" {
  interface FastifyInstance {
    skipwise: ServiceControl;
  }
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = createHttpInstance(options);
  const metrics = new ServeMetrics({ processMetrics: options.processMetrics });
  const core = new DecisionCore({
    scorer: options.scorer,
    bundleDir: options.bundleDir,
    loadScorer: options.loadScorer,
    log: options.log,
    experiment: options.experiment,
    decisions: options.decisions,
    guardrail: { enabled: options.guardrail ?? true },
    metrics,
    operatorLog: app.log,
  });
  app.decorate("skipwise", core satisfies ServiceControl);
  observeRequests(app, metrics);
  app.addHook("onClose", async () => {
    await options.log.close();
    await core.scorer.close();
  });
  installErrorHandler(app);
  await registerRateLimit(app, options.rateLimit);
  await registerDocs(app);
  await app.register(async (traffic) => {
    declareRoutesAtZero(traffic, metrics);
    await traffic.register(referenceRoutes, { core });
    await traffic.register(v1Routes, { core, prefix: "/v1" });
  });
  await app.register(operationsRoutes, { core });
  await app.register(adminRoutes, { core, apiKey: options.apiKey, prefix: "/admin" });
  return app;
}
