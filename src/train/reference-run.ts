// The reference project's leaky protocol run on a delivery: `skipwise train --protocol seed` prints it,
// `skipwise evaluate` shows it beside the honest numbers.
import { mkdirSync } from "node:fs";
import type { Delivery } from "../data/index.ts";
import { buildListens } from "../listens/index.ts";
import {
  boundedReferenceProtocol,
  buildReferenceDataset,
  exportReferenceCsv,
  type ReferenceResult,
  runReferenceProtocol,
} from "./reference-protocol.ts";

/**
 * The reference protocol on the delivery's listens (reference listen rule). With `exportCsv`, the
 * reference's CSV files are written there and the protocol runs on every row, as the reference did.
 */
export function referenceProtocol(
  delivery: Delivery,
  exportCsv?: string,
  onProgress?: (done: number, total: number) => void,
): ReferenceResult {
  const listens = buildListens(delivery.events, delivery.catalog, { rule: "reference" });
  if (!exportCsv)
    return boundedReferenceProtocol(listens, delivery.catalog, undefined, undefined, onProgress);
  // The reference's CSV files hold every row: the full dataset, and the protocol on all of it.
  const dataset = buildReferenceDataset(listens, delivery.catalog);
  mkdirSync(exportCsv, { recursive: true });
  exportReferenceCsv(exportCsv, dataset);
  return runReferenceProtocol(dataset);
}
