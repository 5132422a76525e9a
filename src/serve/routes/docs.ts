// The OpenAPI document (GET /docs/json), built from the route schemas, and its UI at /docs (offline assets).
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { VERSION } from "../version.ts";

/** On the root instance, before the routes: the document collects the routes registered after it. */
export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: "skipwise prediction service",
        description: "Predicts skip vs full play so a streaming client prefetches only what will be heard",
        version: VERSION,
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
}
