// Premium status at each listen. users.jsonl states the status at the END of the delivery's period
// (every user who bought premium during it is already marked premium), so the flag alone mislabels a
// buyer's earlier listens. The buy_premium events date the change. This reconstructs what the
// service's account database knows at listen time; it uses no listen outcome.
import { type Catalog, EventCode, type EventTable } from "../data/types.ts";
import type { ListenTable } from "./types.ts";

/** Fills `listens.premium` (1 premium, 0 not, -1 unknown) from purchases and the catalogue flag. */
export function fillPremium(events: EventTable, catalog: Catalog, listens: ListenTable): void {
  const firstPurchase = new Map<number, number>();
  for (let i = 0; i < events.length; i++) {
    if (events.kind[i] !== EventCode.buy_premium) continue;
    const user = events.userId[i];
    const t = events.timestampMs[i];
    const known = firstPurchase.get(user);
    if (known === undefined || t < known) firstPurchase.set(user, t);
  }
  for (let i = 0; i < listens.length; i++) {
    const user = listens.userId[i];
    const purchase = firstPurchase.get(user);
    if (purchase !== undefined) listens.premium[i] = listens.startMs[i] >= purchase ? 1 : 0;
    else {
      const flag = catalog.users.get(user)?.premium;
      listens.premium[i] = flag === true ? 1 : flag === false ? 0 : -1;
    }
  }
}
