// Session events → listens. `buildListens` is the agreed entry point; `deriveListens` also returns
// the anomaly counts of the event stream.
import { type Catalog, EventCode, type EventTable } from "../data/types.ts";
import { permuteListens } from "./columns.ts";
import { orderBySession, stableSortByKey } from "./order.ts";
import { fillPremium } from "./premium.ts";
import { referenceListens } from "./reference.ts";
import { sequenceListens } from "./sequence.ts";
import type { ListenBuild, ListenRule, ListenTable } from "./types.ts";

export type { ListenAnomalies, ListenBuild, ListenRule, ListenTable } from "./types.ts";

export interface ListenOptions {
  /** "sequence" (default): play → skip pairing in event order; "reference": one row per (session, track). */
  rule?: ListenRule;
}

/** Listens sorted by start time (ties: session id, then position). */
export function buildListens(events: EventTable, catalog: Catalog, options: ListenOptions = {}): ListenTable {
  return deriveListens(events, catalog, options).listens;
}

/** Listens sorted by start time, with counts of the events the rule could not place. */
export function deriveListens(
  events: EventTable,
  catalog: Catalog,
  options: ListenOptions = {},
): ListenBuild {
  const rule = options.rule ?? "sequence";
  const { order, spans } = orderBySession(events.sessionId, events.timestampMs, events.length);
  const build =
    rule === "sequence"
      ? sequenceListens(events, catalog, order, spans)
      : rule === "reference"
        ? referenceListens(events, catalog, order, spans)
        : unknownRule(rule);
  const grouped = build.listens;
  const identity = new Int32Array(grouped.length);
  for (let i = 0; i < identity.length; i++) identity[i] = i;
  // Rows arrive grouped by ascending session id in position order, so a stable sort by start time
  // breaks ties by session, then position.
  const byTime = stableSortByKey(grouped.startMs, identity);
  const listens = permuteListens(grouped, byTime);
  fillPremium(events, catalog, listens);
  return { listens, anomalies: build.anomalies };
}

function unknownRule(rule: never): never {
  throw new Error(`unknown listen rule "${String(rule)}": expected "sequence" or "reference"`);
}

/** Share of play/skip events that are skips (how the course material quotes a delivery's skip level). */
export function skipShareOfDecisions(events: EventTable): number {
  let plays = 0;
  let skips = 0;
  for (let i = 0; i < events.length; i++) {
    if (events.kind[i] === EventCode.play) plays++;
    else if (events.kind[i] === EventCode.skip) skips++;
  }
  return plays + skips === 0 ? Number.NaN : skips / (plays + skips);
}

export type { FinishedListen, LiveColumns, LiveEvent, SessionPlace } from "./live.ts";
export { eventsOfListens, LiveListens } from "./live.ts";
export { eventTimeOrder } from "./order.ts";
