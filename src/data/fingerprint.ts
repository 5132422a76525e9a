// A delivery's content address: the sha256 of every file as stored (hashed by the loader while it reads
// them, so no second pass), and one fingerprint over their (name, size, sha256) list. The same bytes give
// the same fingerprint wherever the folder lives: no host path goes into it.
import { createHash } from "node:crypto";
import type { QualityReport } from "./quality.ts";

export interface DeliveryFileDigest {
  /** Name in the delivery folder, e.g. `sessions.jsonl.gz` (the content of a followed link is hashed). */
  name: string;
  bytes: number;
  /** sha256 (hex) of the file's bytes as stored. */
  sha256: string;
}

export interface DeliveryFingerprint {
  /** `sha256:` + hex sha256 over the files' `name\0bytes\0sha256\n` lines, sorted by name. */
  fingerprint: string;
  /** The files, sorted by name. */
  files: DeliveryFileDigest[];
}

/** The fingerprint of a loaded delivery (`loadDelivery`'s quality report carries every file's sha256). */
export function deliveryFingerprint(quality: Pick<QualityReport, "files">): DeliveryFingerprint {
  const files = Object.values(quality.files)
    .filter((f): f is NonNullable<typeof f> => f != null)
    .map((f) => {
      if (!/^[0-9a-f]{64}$/.test(f.sha256)) throw new Error(`${f.name}: the loader recorded no sha256`);
      return { name: f.name, bytes: f.bytes, sha256: f.sha256 };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { fingerprint: fingerprintOf(files), files };
}

/** The fingerprint of a list of file digests (in any order). */
export function fingerprintOf(files: readonly DeliveryFileDigest[]): string {
  const hash = createHash("sha256");
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const f of sorted) hash.update(`${f.name}\0${f.bytes}\0${f.sha256}\n`);
  return `sha256:${hash.digest("hex")}`;
}
