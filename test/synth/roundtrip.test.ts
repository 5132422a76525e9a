// A generated delivery read back by the loader: zero defects when none were asked, exactly the injected
// counts when they were, and listens that agree with the truth file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFECT_KINDS, type Delivery, loadDelivery } from "../../src/data/index.ts";
import { buildListens } from "../../src/listens/index.ts";
import { INJECTABLE_DEFECTS } from "../../src/synth/defects.ts";
import {
  type Dialect,
  type GenerateSummary,
  generateDelivery,
  type SizeSpec,
} from "../../src/synth/index.ts";
import { readJsonl } from "./read-jsonl.ts";

const USERS_FILE_KINDS = new Set<string>(["null_favourite_genres", "null_premium_user", "bad_user_id"]);
const TINY: SizeSpec = { users: 6, artists: 40, tracks: 250, sessions: 25, days: 20 };
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "skipwise-roundtrip-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function expectExactCounts(delivery: Delivery, summary: GenerateSummary): void {
  const m = summary.manifest;
  for (const kind of DEFECT_KINDS) {
    const got = delivery.quality.defects[kind];
    const injected = (m.injected as Record<string, number>)[kind] ?? 0;
    expect(got.found, `${kind} found`).toBe(injected);
    if (kind === "unknown_artist") {
      expect(got.repaired + got.quarantined, kind).toBe(0);
    } else {
      expect(got.repaired + got.quarantined, `${kind} repaired + quarantined`).toBe(injected);
    }
  }
  expect(delivery.quality.defects.null_user_id.repaired).toBe(m.repairable.null_user_id);
  expect(delivery.quality.defects.null_user_id.quarantined).toBe(m.unrepairable.null_user_id);
  expect(delivery.quality.defects.null_track_id.repaired).toBe(m.repairable.null_track_id);
  expect(delivery.quality.defects.null_track_id.quarantined).toBe(m.unrepairable.null_track_id);
}

describe("round trip through loadDelivery", () => {
  const cases: { dialect: Dialect; gzip: boolean; explicitBool: boolean }[] = [
    { dialect: "2023L", gzip: false, explicitBool: false },
    { dialect: "2023Z", gzip: false, explicitBool: false },
    { dialect: "epoch", gzip: true, explicitBool: true },
  ];
  for (const c of cases) {
    it(`${c.dialect}${c.gzip ? " gzip" : ""}: a clean delivery has no defects and its listens match the truth`, async () => {
      const dir = join(root, `clean-${c.dialect}`);
      const summary = await generateDelivery({ out: dir, size: "small", ...c });
      const delivery = await loadDelivery(dir);
      for (const kind of DEFECT_KINDS) expect(delivery.quality.defects[kind].found, kind).toBe(0);
      const m = summary.manifest;
      expect(delivery.events.length).toBe(m.counts.events);
      expect(delivery.catalog.tracks.length).toBe(m.counts.tracks);
      expect(delivery.catalog.users.size).toBe(m.counts.users);
      expect(delivery.catalog.artists.size).toBe(m.counts.artists);
      expect(delivery.quality.counts.sessions).toBe(m.counts.sessions);

      const listens = buildListens(delivery.events, delivery.catalog);
      expect(listens.length).toBe(m.truth.plays);
      const truth = readJsonl(join(dir, "truth.jsonl"));
      const outcome = new Map<string, string>();
      for (const t of truth) {
        const ms = typeof t.timestamp === "number" ? t.timestamp : Date.parse(`${t.timestamp}Z`);
        outcome.set(`${t.session_id}|${ms}`, `${t.skipped}@${t.position}`);
      }
      let skipped = 0;
      const mismatches: string[] = [];
      for (let i = 0; i < listens.length; i++) {
        const key = `${listens.sessionId[i]}|${listens.startMs[i]}`;
        if (outcome.get(key) !== `${listens.skipped[i]}@${listens.position[i]}`) mismatches.push(key);
        skipped += listens.skipped[i];
      }
      expect(mismatches).toEqual([]);
      expect(skipped).toBe(m.truth.skips);
    });
  }

  it("reports exactly the injected counts with every kind at once (2023L)", async () => {
    const dir = join(root, "all-L");
    // users.jsonl has only 20 rows and few tracks are never played: higher rates there so every kind occurs
    const users = {
      null_favourite_genres: 0.2,
      null_premium_user: 0.2,
      bad_user_id: 0.2,
      bad_track_field: 0.2,
    };
    const summary = await generateDelivery({ out: dir, size: "small", defects: { all: 0.02, ...users } });
    for (const kind of INJECTABLE_DEFECTS) expect(summary.manifest.injected[kind], kind).toBeGreaterThan(0);
    expectExactCounts(await loadDelivery(dir), summary);
  });

  it("reports exactly the injected counts with every kind at once (epoch, gzip)", async () => {
    const dir = join(root, "all-epoch");
    const summary = await generateDelivery({
      out: dir,
      size: "small",
      dialect: "epoch",
      gzip: true,
      seed: 5,
      defects: { all: 0.03 },
    });
    expectExactCounts(await loadDelivery(dir), summary);
  });

  it("reports both repairable and unrepairable null user ids and null track ids", async () => {
    const dir = join(root, "nulls");
    const summary = await generateDelivery({
      out: dir,
      size: "small",
      dialect: "2023Z",
      defects: { null_user_id: 0.3, null_track_id: 0.05 },
    });
    const m = summary.manifest;
    expect(m.repairable.null_user_id).toBeGreaterThan(0);
    expect(m.unrepairable.null_user_id).toBeGreaterThan(0);
    expect(m.repairable.null_track_id).toBeGreaterThan(0);
    expect(m.unrepairable.null_track_id).toBeGreaterThan(0);
    expectExactCounts(await loadDelivery(dir), summary);
  });

  for (const kind of INJECTABLE_DEFECTS) {
    it(`injects ${kind} alone and the loader counts exactly that`, async () => {
      const dir = join(root, `one-${kind}`);
      const rate = USERS_FILE_KINDS.has(kind) ? 0.5 : 0.15;
      const summary = await generateDelivery({ out: dir, size: TINY, seed: 3, defects: { [kind]: rate } });
      const injected = summary.manifest.injected;
      expect(injected[kind]).toBeGreaterThan(0);
      for (const other of INJECTABLE_DEFECTS) if (other !== kind) expect(injected[other], other).toBe(0);
      expectExactCounts(await loadDelivery(dir), summary);
    });
  }
});
