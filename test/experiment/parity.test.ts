// `skipwise parity` against a served 2023L-v2 bundle: the whole period after training, as raw events and
// predictions, must reproduce buildDataset's rows and predictProba bit for bit — and a service whose
// vector is skewed in one feature must be caught, with that feature named.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDelivery } from "../../src/data/index.ts";
import { ServiceClient } from "../../src/experiment/http-client.ts";
import { checkParity } from "../../src/experiment/parity.ts";
import { FEATURE_SCHEMA } from "../../src/features/index.ts";
import { buildApp } from "../../src/serve/app.ts";
import { BundleScorer, scorerFromBundle } from "../../src/serve/bundle-scorer.ts";
import type { Score, ScoreRequest } from "../../src/serve/scorer.ts";
import { SqliteDecisionLog } from "../../src/serve/sqlite-decision-log.ts";
import { runTrainCommand } from "../../src/train/train-command.ts";
import { sharedDelivery } from "../helpers/shared-data.ts";

const DATA = sharedDelivery("2023L-v2");
const SKEWED = FEATURE_SCHEMA.names.indexOf("track_skip_rate");

/** A service that adds 0.01 to one feature before scoring: the skew parity exists to catch. */
class SkewedScorer extends BundleScorer {
  override async score(model: string, request: ScoreRequest): Promise<Score> {
    const honest = await super.score(model, { ...request, explain: true });
    const features = honest.features as Float32Array;
    features[SKEWED] += 0.01;
    return { ...honest, features, probSkip: this.probabilityOf(model, features) };
  }

  override scoreBatch(model: string, requests: readonly ScoreRequest[]): Promise<Score[]> {
    return Promise.all(requests.map((r) => this.score(model, r)));
  }
}

describe("skipwise parity against a served 2023L-v2 bundle", () => {
  let dir: string;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "skipwise-parity-"));
    await runTrainCommand({
      data: DATA,
      out: join(dir, "bundle"),
      models: "naive,majority,logistic,gbdt",
      stdout: { write: () => true } as unknown as NodeJS.WritableStream,
    });
  }, 120_000);

  afterAll(async () => {
    for (const app of apps) await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function serve(skewed: boolean, name: string): Promise<ServiceClient> {
    const delivery = await loadDelivery(DATA);
    const bundleDir = join(dir, "bundle");
    const honest = scorerFromBundle(bundleDir, delivery.catalog);
    const scorer = skewed ? Object.setPrototypeOf(honest, SkewedScorer.prototype) : honest;
    const app = await buildApp({ scorer, bundleDir, log: new SqliteDecisionLog(join(dir, `${name}.db`)) });
    apps.push(app);
    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    return new ServiceClient(address);
  }

  it("compares every listen of the test period, likes and premium events included, with 0 mismatches", async () => {
    const delivery = await loadDelivery(DATA);
    const client = await serve(false, "honest");
    const result = await checkParity({ client, delivery, bundleDir: join(dir, "bundle") });
    client.close();
    expect(result.listens).toBe(2046); // the last 20 % of 2023L-v2's 10,229 listens
    const kinds = new Set<number>();
    for (let i = 0; i < delivery.events.length; i++) {
      if (delivery.events.timestampMs[i] >= result.fromMs) kinds.add(delivery.events.kind[i]);
    }
    expect([...kinds].sort()).toEqual([0, 1, 2, 3, 4]); // play, skip, like, advertisement, buy_premium
    expect(result.events).toBeGreaterThan(result.listens);
    expect(result.mismatchedListens).toBe(0);
    expect(Object.values(result.featureMismatches).every((n) => n === 0)).toBe(true);
    expect(result.models.sort()).toEqual(["gbdt", "logistic", "majority", "naive"]);
    for (const model of result.models) expect(result.maxProbDiff[model]).toBe(0);
  }, 120_000);

  it("refuses a service whose state already learned the period (it would compare a later state)", async () => {
    const delivery = await loadDelivery(DATA);
    const client = await serve(false, "reused");
    await checkParity({ client, delivery, bundleDir: join(dir, "bundle"), models: ["logistic"] });
    await expect(checkParity({ client, delivery, bundleDir: join(dir, "bundle") })).rejects.toThrow(
      /already seen .* start a service on a fresh --db/,
    );
    client.close();
  }, 120_000);

  it("catches a service that skews one feature, and names it", async () => {
    const delivery = await loadDelivery(DATA);
    const client = await serve(true, "skewed");
    const result = await checkParity({
      client,
      delivery,
      bundleDir: join(dir, "bundle"),
      models: ["gbdt", "logistic"],
    });
    client.close();
    expect(result.mismatchedListens).toBe(result.listens);
    const differing = Object.entries(result.featureMismatches).filter(([, n]) => n > 0);
    expect(differing).toEqual([["track_skip_rate", result.listens]]);
    expect(result.probMismatches.logistic).toBeGreaterThan(0);
    expect(result.maxProbDiff.logistic).toBeGreaterThan(1e-6);
  }, 120_000);
});
