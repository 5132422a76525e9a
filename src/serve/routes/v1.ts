// The /v1 API: predictions (one or a batch), feedback and session events, all through the decision core.
import type { FastifyInstance } from "fastify";
import type { DecisionCore } from "../decision-core.ts";
import {
  type EventsBody,
  eventsSchema,
  type FeedbackBody,
  feedbackSchema,
  type PredictBatchBody,
  type PredictBody,
  predictBatchSchema,
  predictSchema,
} from "../schemas.ts";
import { predictionAnswer } from "./prediction-answer.ts";
import { loggedRoute, predictionInput } from "./prediction-request.ts";
import { eventRecords, feedbackInput } from "./v1-inputs.ts";

export async function v1Routes(app: FastifyInstance, { core }: { core: DecisionCore }): Promise<void> {
  app.post<{ Body: PredictBody }>("/predict", { schema: predictSchema }, async (request) => {
    const prediction = await core.predict(predictionInput(request.body, ""), loggedRoute(request));
    return predictionAnswer(prediction);
  });

  app.post<{ Body: PredictBatchBody }>("/predict/batch", { schema: predictBatchSchema }, async (request) => {
    const inputs = request.body.items.map((item, i) => predictionInput(item, `items.${i}.`));
    const predictions = await core.predictBatch(inputs, loggedRoute(request));
    return { predictions: predictions.map(predictionAnswer) };
  });

  app.post<{ Body: FeedbackBody }>("/feedback", { schema: feedbackSchema }, async (request) => {
    const { decisionId, correct } = await core.recordFeedback(feedbackInput(request.body));
    return { decision_id: decisionId, matched: true, correct };
  });

  app.post<{ Body: EventsBody }>("/events", { schema: eventsSchema }, async (request) =>
    core.learnEvents(eventRecords(core, request.body)),
  );
}
