// A real service for the replay and analysis tests: a small generated delivery, trained through the real
// pipeline (trainModels + saveTrainingBundle), served by the real `skipwise serve` code path (runServe with
// the bundle loader) on loopback.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Delivery, loadDelivery } from "../../src/data/index.ts";
import { buildListens } from "../../src/listens/index.ts";
import type { ListenTable } from "../../src/listens/types.ts";
import { bundleLoader } from "../../src/serve/bundle-scorer.ts";
import { resolveServeConfig } from "../../src/serve/config.ts";
import { type RunningServer, runServe } from "../../src/serve/server.ts";
import { generateDelivery } from "../../src/synth/index.ts";
import { trainModels } from "../../src/train/pipeline.ts";
import { saveTrainingBundle } from "../../src/train/training-bundle.ts";

export interface ReplayFixture {
  dir: string;
  data: string;
  bundle: string;
  db: string;
  delivery: Delivery;
  listens: ListenTable;
  server: RunningServer;
  url: string;
  close(): Promise<void>;
}

/** 30 users, ~4,500 plays over 40 days: a test period of ~900 listens. */
export const FIXTURE_SIZE = { users: 30, artists: 150, tracks: 500, sessions: 240, days: 40 };

export async function startReplayFixture(): Promise<ReplayFixture> {
  const dir = mkdtempSync(join(tmpdir(), "skipwise-replay-"));
  const data = join(dir, "delivery");
  await generateDelivery({ out: data, size: FIXTURE_SIZE, seed: 7 });
  const delivery = await loadDelivery(data);
  const listens = buildListens(delivery.events, delivery.catalog);
  const run = trainModels(listens, delivery.catalog, {
    events: delivery.events,
    models: ["naive", "logistic"],
  });
  const bundle = join(dir, "bundle");
  saveTrainingBundle(bundle, run, delivery);
  const db = join(dir, "decisions.db");
  const config = resolveServeConfig({ bundle, data, db, port: 0, logLevel: "silent" }, {});
  const server = await runServe(config, bundleLoader({ data }), { announce: () => {} });
  return {
    dir,
    data,
    bundle,
    db,
    delivery,
    listens,
    server,
    url: server.url,
    async close() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
