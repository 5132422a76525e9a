// Admin routes (header `x-api-key`): reload a bundle. Without a configured key they answer 403.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { DecisionCore } from "../decision-core.ts";
import { AdminDisabledError, ApiKeyRefusedError } from "../errors.ts";
import { type ReloadBody, reloadSchema } from "../schemas.ts";

export interface AdminRoutesOptions {
  core: DecisionCore;
  apiKey: string | undefined;
}

export async function adminRoutes(app: FastifyInstance, { core, apiKey }: AdminRoutesOptions): Promise<void> {
  app.post<{ Body: ReloadBody }>("/reload", { schema: reloadSchema }, async (request) => {
    checkApiKey(apiKey, request.headers["x-api-key"]);
    const result = await core.reload(request.body?.bundle);
    return {
      status: "reloaded",
      bundle_version: result.bundleVersion,
      previous_version: result.previousVersion,
      online_state: result.onlineState,
      relearned_items: result.relearnedItems,
      models: [...core.scorer.modelNames],
    };
  });
}

function checkApiKey(expected: string | undefined, given: string | string[] | undefined): void {
  if (!expected) throw new AdminDisabledError();
  if (typeof given !== "string" || !sameSecret(given, expected)) throw new ApiKeyRefusedError();
}

/** Constant-time comparison, so response timing does not reveal how much of a guessed key matched. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
