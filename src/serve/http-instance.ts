// The Fastify instance with the service's limits and deadlines: what a careless client or an attacker meets
// before any route runs.
import Fastify, { type FastifyInstance, LogController } from "fastify";

export interface HttpOptions {
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** pino logger options, or false (default) for none. */
  logger?: boolean | { level: string };
  /** Whole-request deadline (default 10 s: a body that never finishes gets 408) and keep-alive idle close. */
  timeouts?: { requestMs?: number; keepAliveMs?: number };
}

export function createHttpInstance(options: HttpOptions): FastifyInstance {
  const requestMs = options.timeouts?.requestMs ?? 10_000;
  const app = Fastify({
    logger: options.logger ?? false,
    // No per-request info lines on the hot path; errors are still logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Wrong types are client errors, not something to coerce silently.
    // Extra properties where a schema says additionalProperties: false are refused, not silently dropped.
    ajv: { customOptions: { coerceTypes: false, allErrors: false, removeAdditional: false } },
    return503OnClosing: true,
    requestTimeout: requestMs,
    // Idle sockets (a body that stopped arriving) are cut at once; requestTimeout alone is checked by Node
    // only every 30 s.
    connectionTimeout: requestMs,
    keepAliveTimeout: options.timeouts?.keepAliveMs ?? 5_000,
    // A keep-alive connection is not kept forever: clients reconnect, so load spreads and drains finish.
    maxRequestsPerSocket: 100_000,
  });
  // Headers are part of the request: a client trickling them is held no longer than a slow body.
  app.server.headersTimeout = Math.min(app.server.headersTimeout, requestMs);
  // CONNECT (proxy tunnels) is not an API call: answer it instead of leaving the socket open.
  app.server.on("connect", (_request, socket) => {
    socket.end("HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  });
  return app;
}
