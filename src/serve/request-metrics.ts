// HTTP request metrics: every answer counted and timed by route, and the traffic routes' series at 0.
import type { FastifyInstance } from "fastify";
import type { ServeMetrics } from "./metrics.ts";

/** On the root instance: every request, including the unmatched ones (route "unmatched"). */
export function observeRequests(app: FastifyInstance, metrics: ServeMetrics): void {
  app.addHook("onResponse", (request, reply, done) => {
    metrics.observeRequest(
      request.routeOptions.url ?? "unmatched",
      request.method,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
}

/** Every route registered in `scope` (and the plugins under it) exports its series from the start. */
export function declareRoutesAtZero(scope: FastifyInstance, metrics: ServeMetrics): void {
  scope.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) metrics.declareRoute(route.url, method);
  });
}
