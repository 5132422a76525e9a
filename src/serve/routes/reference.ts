// The reference service's routes: same bodies and answers, so existing clients keep working.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { GENRE_RULE_MODEL } from "../../models/registry.ts";
import type { DecisionCore } from "../decision-core.ts";
import { ModelMissingError } from "../errors.ts";
import { abtestSchema, type ReferenceBody, referenceSchema } from "../schemas.ts";
import { loggedRoute, predictionInput } from "./prediction-request.ts";

type ReferenceRequest = FastifyRequest<{ Body: ReferenceBody }>;

export async function referenceRoutes(app: FastifyInstance, { core }: { core: DecisionCore }): Promise<void> {
  app.post<{ Body: ReferenceBody }>(
    "/naive",
    { schema: { ...referenceSchema, summary: "Naive genre rule" } },
    (request) => {
      const { scorer } = core;
      if (!scorer.modelNames.includes(GENRE_RULE_MODEL))
        throw new ModelMissingError(scorer.bundleVersion, GENRE_RULE_MODEL);
      return predictWith(core, request, GENRE_RULE_MODEL);
    },
  );

  app.post<{ Body: ReferenceBody }>(
    "/recommend",
    { schema: { ...referenceSchema, summary: "The bundle's default model" } },
    (request) => predictWith(core, request, core.scorer.defaultModel),
  );

  app.post<{ Body: ReferenceBody }>("/abtest", { schema: abtestSchema }, async (request) => {
    const { row } = await core.predict(referenceInput(request.body), loggedRoute(request));
    return { model: row.model, prediction: row.decision, variant: row.variant, decision_id: row.id };
  });
}

async function predictWith(core: DecisionCore, request: ReferenceRequest, model: string) {
  const { row } = await core.predict({ ...referenceInput(request.body), model }, loggedRoute(request));
  return { prediction: row.decision };
}

/**
 * The reference schema lets unnamed properties through, and the service has always read them as in a
 * /v1/predict body (`model`, `session`, `explain`): kept so, as clients may rely on it.
 */
function referenceInput(body: ReferenceBody) {
  return predictionInput(body, "");
}
