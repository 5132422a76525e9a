// Per-client-IP rate limit on every route but the probes.
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance } from "fastify";
import { PROBE_PATHS } from "./routes/operations.ts";

export interface RateLimitOptions {
  max: number;
  timeWindowMs: number;
}

const PROBES = new Set<string>(Object.values(PROBE_PATHS));

/** On the root instance, before the routes; no limit when `limit` is absent or its max is 0. */
export async function registerRateLimit(app: FastifyInstance, limit: RateLimitOptions | undefined) {
  if (!limit || limit.max <= 0) return;
  await app.register(rateLimit, {
    global: true,
    max: limit.max,
    timeWindow: limit.timeWindowMs,
    allowList: (request) => request.method === "GET" && PROBES.has(request.url.split("?")[0]),
  });
}
