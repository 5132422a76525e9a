// The guardrail's whole loop, once per seed (issue 14): generate a delivery whose skips stop following the
// listener at the start of its test period (`--drift-at`), or one without drift; train on it (the time split
// puts the drift after the training and validation periods); serve the bundle with one experiment variant,
// its recommended model, the guardrail on; replay the test period (predictions with session context, then
// each listen's real outcome as feedback) and read from the decision log when the variant fell back.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDelivery } from "../src/data/index.ts";
import { replayAgainstService, selectReplayListens } from "../src/experiment/replay.ts";
import { buildListens } from "../src/listens/index.ts";
import { buildApp } from "../src/serve/app.ts";
import { scorerFromBundle } from "../src/serve/bundle-scorer.ts";
import { readDecisionRecords } from "../src/serve/log-export.ts";
import { SqliteDecisionLog } from "../src/serve/sqlite-decision-log.ts";
import { generateDelivery, SIZES } from "../src/synth/index.ts";
import { runTrainCommand } from "../src/train/train-command.ts";

export interface LoopResult {
  seed: number;
  drift: boolean;
  model: string;
  policy: string;
  listens: number;
  /** Listens with feedback of the variant before its first fallback decision; null: it never fell back. */
  fallbackAfter: number | null;
  /** Share of the replayed listens served while fallen back. */
  fallbackShare: number;
}

const quiet = { write: () => true } as unknown as NodeJS.WritableStream;

/** 300 users over 120 days (the demo's size); the drift starts on day 96, about where the test period does. */
export const LOOP_SIZE = SIZES.demo;
export const DRIFT_DAY = 96;

export async function guardrailLoop(seed: number, drift: boolean): Promise<LoopResult> {
  const work = mkdtempSync(join(tmpdir(), "skipwise-guardrail-"));
  try {
    const data = join(work, "delivery");
    await generateDelivery({ out: data, size: LOOP_SIZE, seed, driftAt: drift ? DRIFT_DAY : undefined });
    const bundle = join(work, "bundle");
    await runTrainCommand({ data, out: bundle, models: "naive,logistic,gbdt", stdout: quiet });
    const manifest = JSON.parse(readFileSync(join(bundle, "manifest.json"), "utf8")) as {
      defaultModel: string;
      policy?: { kind: string; model: string | null };
    };
    const model = manifest.policy?.model ?? manifest.defaultModel;
    const delivery = await loadDelivery(data);
    const app = await buildApp({
      scorer: scorerFromBundle(bundle, delivery.catalog),
      bundleDir: bundle,
      log: new SqliteDecisionLog(join(work, "decisions.db")),
      processMetrics: false,
      logger: false,
      experiment: {
        name: "guardrail",
        salt: "g",
        variants: [{ name: "model", model, weight: 1 }],
        shadow: false,
      },
    });
    try {
      const address = await app.listen({ host: "127.0.0.1", port: 0 });
      const listens = buildListens(delivery.events, delivery.catalog);
      const selection = selectReplayListens(listens, delivery.catalog);
      await replayAgainstService(selection.listens, { url: address, route: "v1", concurrency: 1 });
    } finally {
      await app.close();
    }
    const rows = readDecisionRecords(join(work, "decisions.db"), { includeShadow: true });
    const fallbackIds = new Set(
      rows.filter((r) => !r.served && r.variant === "model" && r.shadowOf !== null).map((r) => r.shadowOf),
    );
    let withFeedback = 0;
    let fallbackAfter: number | null = null;
    let fallen = 0;
    let served = 0;
    for (const r of rows) {
      if (!r.served) continue;
      served++;
      if (fallbackIds.has(r.decisionId) || (fallbackAfter !== null && r.decision === "PLAY")) fallen++;
      if (fallbackAfter === null && fallbackIds.has(r.decisionId)) fallbackAfter = withFeedback;
      if (r.outcome !== null) withFeedback++;
    }
    return {
      seed,
      drift,
      model,
      policy: manifest.policy?.kind ?? "model",
      listens: served,
      fallbackAfter,
      fallbackShare: served > 0 ? fallen / served : 0,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
