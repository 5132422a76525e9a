import { describe, expect, it } from "vitest";
import { loadDelivery } from "../../src/data/index.ts";
import { deriveListens, skipShareOfDecisions } from "../../src/listens/index.ts";
import type { ListenTable } from "../../src/listens/types.ts";
import { sharedDelivery } from "../helpers/shared-data.ts";

const sum = (a: Uint8Array) => a.reduce((s, v) => s + v, 0);

function assertSortedByTimeSessionPosition(l: ListenTable): void {
  let bad = 0;
  for (let i = 1; i < l.length; i++) {
    const dt = l.startMs[i] - l.startMs[i - 1];
    const ds = l.sessionId[i] - l.sessionId[i - 1];
    if (dt < 0 || (dt === 0 && (ds < 0 || (ds === 0 && l.position[i] <= l.position[i - 1])))) bad++;
  }
  expect(bad).toBe(0);
}

describe("listens of the real deliveries", () => {
  it("2023L-v2: 10,229 plays → 10,229 listens, 3,761 skipped; 26.9 % of play/skip events are skips", async () => {
    const { events, catalog } = await loadDelivery(sharedDelivery("2023L-v2"));
    const { listens, anomalies } = deriveListens(events, catalog);
    expect(listens.length).toBe(10_229);
    expect(sum(listens.skipped)).toBe(3_761);
    expect(sum(listens.liked)).toBe(2_833);
    // "decisions" in the data README = play and skip events: 3,761 / (10,229 + 3,761)
    expect(skipShareOfDecisions(events)).toBeCloseTo(3_761 / 13_990, 12);
    expect(skipShareOfDecisions(events).toFixed(3)).toBe("0.269");
    // … while the share of listens that are skipped is higher
    expect((sum(listens.skipped) / listens.length).toFixed(3)).toBe("0.368");
    expect(Object.values(anomalies).every((v) => v === 0)).toBe(true);
    assertSortedByTimeSessionPosition(listens);
    for (let i = 0; i < listens.length; i++) {
      const duration = catalog.tracks[listens.trackIndex[i]].durationMs;
      if (!(listens.heardMs[i] >= 0 && listens.heardMs[i] <= duration)) throw new Error(`heard ${i}`);
      if (!listens.skipped[i] && listens.heardMs[i] !== duration) throw new Error(`played out ${i}`);
      if (listens.sessionStartMs[i] > listens.startMs[i]) throw new Error(`session start ${i}`);
    }
    const reference = deriveListens(events, catalog, { rule: "reference" });
    // 348 repeated plays of a track inside its session fold into their (session, track) row
    expect(reference.listens.length).toBe(9_881);
    expect(sum(reference.listens.skipped)).toBe(3_679);
  });

  it("2023Z-v2: 14,456 plays → 14,456 listens, 4,570 skipped; 24.0 % of play/skip events are skips", async () => {
    const { events, catalog } = await loadDelivery(sharedDelivery("2023Z-v2"));
    const { listens, anomalies } = deriveListens(events, catalog);
    expect(listens.length).toBe(14_456);
    expect(sum(listens.skipped)).toBe(4_570);
    expect(skipShareOfDecisions(events)).toBeCloseTo(4_570 / 19_026, 12);
    expect(skipShareOfDecisions(events).toFixed(3)).toBe("0.240");
    expect((sum(listens.skipped) / listens.length).toFixed(3)).toBe("0.316");
    expect(Object.values(anomalies).every((v) => v === 0)).toBe(true);
    assertSortedByTimeSessionPosition(listens);
    const reference = deriveListens(events, catalog, { rule: "reference" });
    expect(reference.listens.length).toBe(14_454);
    expect(sum(reference.listens.skipped)).toBe(4_569);
  });

  it("2023L-v1-defects: counts the skips and likes the defects leave unplaceable", async () => {
    const { events, catalog } = await loadDelivery(sharedDelivery("2023L-v1-defects"));
    const { listens, anomalies } = deriveListens(events, catalog);
    expect(listens.length).toBe(2_125);
    expect(sum(listens.skipped)).toBe(730);
    expect(anomalies).toEqual({
      skipWithoutPlay: 23,
      skipOfOtherTrack: 50,
      repeatedSkip: 0,
      skipAfterEnd: 0,
      likeWithoutPlay: 53,
      playWithoutTrack: 0,
      negativeDuration: 0,
    });
    assertSortedByTimeSessionPosition(listens);
  });
});
