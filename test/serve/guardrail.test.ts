// The live guardrail: it falls back to PLAY (prefetch everything) only once an always-valid interval shows the
// variant's model costs more than caching everything, keeps scoring the model in shadow, comes back when the
// evidence turns, and starts afresh on reload.
import { afterAll, describe, expect, it } from "vitest";
import { ConfidenceSequence } from "../../src/base/statistics.ts";
import { BundleScorer } from "../../src/serve/bundle-scorer.ts";
import { Guardrail } from "../../src/serve/guardrail.ts";
import { readDecisionRecords } from "../../src/serve/log-export.ts";
import { fitModels, simulateWorld } from "./fixture.ts";
import { postJson, type Running, startApp } from "./helpers.ts";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const sequence = () => new ConfidenceSequence({ alpha: 0.05, plannedN: 2_000, plannedSd: 4 });

describe("Guardrail", () => {
  it("falls back once the savings are shown below 0, and only then", () => {
    const events: boolean[] = [];
    const guard = new Guardrail({ enabled: true, sequence });
    guard.onChange = (e) => events.push(e.fallback);
    const rand = lcg(7);
    // A model that stalls a full play 30 % of the time and saves 4.2 on 20 %: mean 0.3 × −4 + 0.2 × 4.2 < 0.
    let at = -1;
    for (let i = 0; i < 20_000 && at < 0; i++) {
      const u = rand();
      guard.observe("m", u < 0.3 ? -4 : u < 0.5 ? 4.2 : 0);
      if (guard.isFallback("m")) at = i + 1;
    }
    expect(at).toBeGreaterThan(10);
    expect(at).toBeLessThan(20_000);
    expect(events).toEqual([true]);
    // The evidence turns: a long run of savings brings the interval back to 0.
    for (let i = 0; i < 200_000 && guard.isFallback("m"); i++) guard.observe("m", 4.2);
    expect(guard.isFallback("m")).toBe(false);
    expect(events).toEqual([true, false]);
  });

  it("never falls back on a model that saves, nor when disabled", () => {
    const rand = lcg(11);
    const guard = new Guardrail({ enabled: true, sequence });
    const off = new Guardrail({ enabled: false, sequence });
    for (let i = 0; i < 20_000; i++) {
      const u = rand();
      guard.observe("m", u < 0.1 ? -4 : u < 0.4 ? 4.2 : 0);
      off.observe("m", -4);
      expect(guard.isFallback("m")).toBe(false);
    }
    expect(off.isFallback("m")).toBe(false);
    expect(off.states()[0].interval.upper).toBeLessThan(0);
  });
});

describe("the guardrail in the service", () => {
  const world = simulateWorld();
  const models = fitModels(world);
  let s: Running;

  afterAll(async () => {
    await s?.close();
  });

  it("serves PLAY once a model that always says SKIP keeps stalling full plays, logging the model's SKIP in shadow", async () => {
    // Threshold 0: the model answers SKIP to everything; every listen is then played out, a stall each.
    const scorer = new BundleScorer({
      version: "guardrail",
      catalog: world.catalog,
      state: world.state,
      models: [
        { name: "naive", model: models.naive, threshold: 0.5 },
        { name: "logistic", model: models.logistic, threshold: 0 },
      ],
      defaultModel: "logistic",
      policy: { kind: "model", model: "logistic", threshold: 0 },
    });
    s = await startApp({
      scorer,
      experiment: {
        name: "g",
        salt: "g1",
        variants: [{ name: "treatment", model: "logistic", weight: 1 }],
        shadow: false,
      },
    });
    let fallbackAt = -1;
    for (let i = 0; i < 400 && fallbackAt < 0; i++) {
      const predicted = await postJson(`${s.url}/v1/predict`, { user_id: 101 + (i % 30), track_id: "T7" });
      expect(predicted.status).toBe(200);
      if (predicted.body.decision === "PLAY") {
        fallbackAt = i;
        break;
      }
      const feedback = await postJson(`${s.url}/v1/feedback`, {
        decision_id: predicted.body.decision_id,
        outcome: "played",
      });
      expect(feedback.status).toBe(200);
    }
    expect(fallbackAt).toBeGreaterThan(2);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toContain('skipwise_guardrail_fallback{variant="treatment"} 1');
    expect(metrics).toMatch(/skipwise_net_saving\{variant="treatment",served="true"\} -\d/);
    // The fallback's decision is logged as served PLAY with the model's SKIP as a shadow row of the variant.
    const rows = readDecisionRecords(s.dbPath, { includeShadow: true });
    const last = rows.filter((r) => r.served).at(-1);
    expect(last?.decision).toBe("PLAY");
    const shadow = rows.find((r) => !r.served && r.shadowOf === (last as { decisionId: string }).decisionId);
    expect(shadow).toMatchObject({ variant: "treatment", model: "logistic", decision: "SKIP" });
  });
});
