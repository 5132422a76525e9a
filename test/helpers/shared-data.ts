import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** Folder of the real Pozytywka deliveries: `../shared/data/pozytywka` beside the repository. */
export const SHARED_POZYTYWKA = resolve(here, "../../../shared/data/pozytywka");

export function sharedDelivery(name: "2023L-v2" | "2023Z-v2" | "2023L-v1-defects"): string {
  const dir = resolve(SHARED_POZYTYWKA, name);
  if (!existsSync(dir))
    throw new Error(`real delivery not found at ${dir}: ../shared must sit beside the repository`);
  return dir;
}
