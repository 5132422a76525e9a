// Cross-check of the sequence rule against the generator's own record of every play (truth.jsonl).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Delivery, loadDelivery } from "../../src/data/index.ts";
import { deriveListens } from "../../src/listens/index.ts";
import { generateDelivery } from "../../src/synth/index.ts";

interface Truth {
  session_id: number;
  position: number;
  track_id: string;
  user_id: number;
  skipped: number;
}

describe("listens of a generated delivery match the generator's truth", () => {
  const root = mkdtempSync(join(tmpdir(), "skipwise-listens-"));
  let delivery: Delivery;
  let truth: Truth[];

  beforeAll(async () => {
    const out = join(root, "small");
    await generateDelivery({ out, size: "small", seed: 11, dialect: "2023Z" });
    delivery = await loadDelivery(out);
    truth = readFileSync(join(out, "truth.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Truth);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("one listen per play, same track, position and outcome, and no anomaly", () => {
    const { listens, anomalies } = deriveListens(delivery.events, delivery.catalog);
    expect(Object.values(anomalies).every((v) => v === 0)).toBe(true);
    expect(listens.length).toBe(truth.length);
    expect(truth.length).toBeGreaterThan(1000);
    const byKey = new Map(truth.map((t) => [`${t.session_id}/${t.position}`, t]));
    let mismatches = 0;
    for (let i = 0; i < listens.length; i++) {
      const t = byKey.get(`${listens.sessionId[i]}/${listens.position[i]}`);
      const trackId = delivery.catalog.tracks[listens.trackIndex[i]].id;
      if (
        !t ||
        t.track_id !== trackId ||
        t.skipped !== listens.skipped[i] ||
        t.user_id !== listens.userId[i]
      ) {
        mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });
});
