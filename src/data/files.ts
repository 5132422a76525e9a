// Locating the files of a delivery: `.jsonl` or `.jsonl.gz`, real symlinks, and pointer files (a link that
// lost its symlink bit, whose whole content is a relative path to the real file). A symlink and a pointer
// file are the same thing on two kinds of checkout, so both are followed and reported the same way.
import {
  closeSync,
  existsSync,
  lstatSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  statSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { DeliveryError } from "./errors.ts";
import type { DeliveryFile, LinkFollowed } from "./quality.ts";

export interface LocatedFile {
  file: DeliveryFile;
  /** Name in the delivery folder, e.g. `sessions.jsonl.gz`. */
  name: string;
  /** Path as found in the folder. */
  path: string;
  /** Path actually read (after following symlinks and pointer files). */
  readPath: string;
  gzip: boolean;
  bytes: number;
  links: LinkFollowed[];
}

const POINTER_MAX_BYTES = 4096;
const POINTER_MAX_HOPS = 8;

/**
 * Finds `<file>.jsonl` or `<file>.jsonl.gz` in `dir`. Returns null for an absent optional file; throws
 * DeliveryError for an absent required file, for both forms being present (ambiguous), or an empty file.
 */
export function locateFile(dir: string, file: DeliveryFile, required: boolean): LocatedFile | null {
  const plain = join(dir, `${file}.jsonl`);
  const gz = `${plain}.gz`;
  // lexists, not existsSync: a dangling symlink is present (and then refused by name), not "missing".
  const hasPlain = lexists(plain);
  const hasGz = lexists(gz);
  if (hasPlain && hasGz) {
    throw new DeliveryError(
      plain,
      `both ${file}.jsonl and ${file}.jsonl.gz exist, so the delivery is ambiguous`,
    );
  }
  if (!hasPlain && !hasGz) {
    if (!required) return null;
    throw new DeliveryError(
      plain,
      `required file is missing (neither ${file}.jsonl nor ${file}.jsonl.gz exists)`,
    );
  }
  const path = hasPlain ? plain : gz;
  const links: LinkFollowed[] = [];
  const readPath = followLinks(path, links);
  const stat = statSync(readPath);
  if (!stat.isFile()) throw new DeliveryError(path, "is not a regular file");
  if (stat.size === 0) throw new DeliveryError(path, "file is empty");
  return {
    file,
    name: hasPlain ? `${file}.jsonl` : `${file}.jsonl.gz`,
    path,
    readPath,
    gzip: startsWithGzipMagic(readPath),
    bytes: stat.size,
    links,
  };
}

/**
 * A pointer file is a small file holding a single line that is not JSON and names an existing file relative
 * to the pointer's folder (e.g. `../2023L-v2/tracks.jsonl`). Anything else is read as data.
 */
export function pointerTarget(path: string): string | null {
  const stat = statSync(path);
  if (!stat.isFile() || stat.size === 0 || stat.size > POINTER_MAX_BYTES) return null;
  const text = readFileSync(path, "utf8").trim();
  if (text === "" || text.includes("\n") || text.startsWith("{") || text.startsWith("[")) return null;
  if (text.includes("\0")) return null;
  const target = resolve(dirname(path), text);
  if (!existsSync(target) || !statSync(target).isFile()) return null;
  return text;
}

/**
 * Follows symlinks and pointer files from `path` to the data file, recording one LinkFollowed per hop. A
 * symlink's target is reported as it is written in the link (`readlink`), like a pointer file's content, and
 * resolved the same way: against the folder of the link, not the process's working directory.
 */
function followLinks(path: string, links: LinkFollowed[]): string {
  let current = path;
  for (let hop = 0; hop < POINTER_MAX_HOPS; hop++) {
    const target = linkTarget(path, current);
    if (target === null) return current;
    const resolved = resolve(dirname(current), target);
    links.push({ file: current === path ? baseName(path) : current, target, resolved });
    current = resolved;
  }
  throw new DeliveryError(
    path,
    `symlinks or pointer files chain more than ${POINTER_MAX_HOPS} times (a link loop?)`,
  );
}

/**
 * What `current` links to, as written: the target of a symlink, or the content of a pointer file; null when
 * `current` is the data itself. Throws DeliveryError naming the delivery's file for a dangling symlink.
 */
function linkTarget(path: string, current: string): string | null {
  if (!lstatSync(current).isSymbolicLink()) return pointerTarget(current);
  const target = readlinkSync(current);
  const resolved = resolve(dirname(current), target);
  if (!lexists(resolved)) {
    const via = current === path ? "is a symlink" : `leads to ${current}, a symlink,`;
    throw new DeliveryError(path, `${via} to ${target}, which does not exist (dangling link to ${resolved})`);
  }
  return target;
}

/** Whether anything, a dangling symlink included, exists at `path` (existsSync follows the link). */
function lexists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function startsWithGzipMagic(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(2);
    const n = readSync(fd, head, 0, 2, 0);
    return n === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}
