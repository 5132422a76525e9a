// The 2023L-v1-defects delivery as the two kinds of checkout have it: `tracks.jsonl` as a pointer file (a
// symlink that lost its link bit, as in some checkouts of ../shared) or as a real relative symlink (a normal
// checkout). Both are rebuilt in os.tmpdir(), never in the repository, with the same layout as ../shared:
//
//   <tmp>/pozytywka/2023L-v2            -> symlink to the real 2023L-v2 folder
//   <tmp>/pozytywka/2023L-v1-defects/   users, artists, track_storage, sessions copied from the real folder
//   <tmp>/pozytywka/2023L-v1-defects/tracks.jsonl   "../2023L-v2/tracks.jsonl" (pointer file or symlink)
//
// so the loader sees exactly what it sees on either checkout: the same link text, one hop to the catalogue.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedDelivery } from "./shared-data.ts";

export type TracksLinkKind = "pointer file" | "symlink";
export const TRACKS_LINK_KINDS: readonly TracksLinkKind[] = ["pointer file", "symlink"];

/** What 2023L-v1-defects/tracks.jsonl holds (pointer file) or points to (symlink), as written. */
export const TRACKS_LINK_TARGET = "../2023L-v2/tracks.jsonl";

export interface V1DefectsCheckout {
  /** The temp `pozytywka` folder: replace it by the real one to compare reports. */
  root: string;
  /** The rebuilt 2023L-v1-defects delivery folder. */
  dir: string;
  cleanup: () => void;
}

export function buildV1DefectsCheckout(kind: TracksLinkKind): V1DefectsCheckout {
  const base = mkdtempSync(join(tmpdir(), "skipwise-v1-defects-"));
  const root = join(base, "pozytywka");
  const dir = join(root, "2023L-v1-defects");
  mkdirSync(dir, { recursive: true });
  symlinkSync(sharedDelivery("2023L-v2"), join(root, "2023L-v2"), "dir");
  const real = sharedDelivery("2023L-v1-defects");
  for (const name of ["users", "artists", "track_storage", "sessions"]) {
    copyFileSync(join(real, `${name}.jsonl`), join(dir, `${name}.jsonl`));
  }
  const tracks = join(dir, "tracks.jsonl");
  if (kind === "symlink") symlinkSync(TRACKS_LINK_TARGET, tracks);
  else writeFileSync(tracks, TRACKS_LINK_TARGET); // 24 bytes, no newline, like the real pointer file
  return { root, dir, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}
