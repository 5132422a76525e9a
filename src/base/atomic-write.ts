// Atomic output, the one implementation every stage uses. A file is written to a temporary file in the
// same directory (`.<name>.<pid>.<random>.tmp`, so the rename never crosses a file system), flushed to
// disk (fsync), renamed over the target, and the directory is fsynced so the rename itself survives a
// crash. On any failure the temporary file is removed and the target is left as it was: a reader (or a
// crash) sees the old content or the new one, never half of either.
//
// A directory (a model bundle, a generated delivery) is published the same way: filled in a temporary
// directory beside the target, every file and folder in it fsynced, then renamed over the target. An
// existing target is moved aside first, put back if the rename fails, and deleted once the new one is
// in place.
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export type FileContent = string | Uint8Array;

/** A path beside `path` (same directory), hidden, unique to this process and call. */
function siblingPath(path: string, label: "tmp" | "old"): string {
  const unique = `${process.pid}.${randomBytes(6).toString("hex")}`;
  return join(dirname(path), `.${basename(path)}.${unique}.${label}`);
}

function failure(path: string, error: unknown): Error {
  return new Error(`cannot write ${path}: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}

/** Errors of fsync on a directory that mean "not supported here" rather than "not durable". */
const UNSUPPORTED_DIRECTORY_SYNC = new Set(["EINVAL", "ENOTSUP", "EISDIR", "EPERM", "EBADF"]);

function syncDirectorySync(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch (error) {
    if (!UNSUPPORTED_DIRECTORY_SYNC.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (error) {
    if (!UNSUPPORTED_DIRECTORY_SYNC.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
  } finally {
    await handle?.close();
  }
}

/** Writes `content` to `path` atomically, creating the parent directory when missing. */
export async function writeFileAtomic(path: string, content: FileContent): Promise<void> {
  const temp = siblingPath(path, "tmp");
  try {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(temp, "wx");
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await syncDirectory(dirname(path));
  } catch (error) {
    await rm(temp, { force: true });
    throw failure(path, error);
  }
}

/**
 * Asynchronous, streaming form: `fill` receives a `write` function to await any number of times (rows read
 * page by page from a database need not be held in memory); its result is returned once the file is in
 * place. Errors as in writeFileAtomicSyncWith: `fill`'s own are rethrown unchanged after the temp file is
 * removed; write, sync and rename errors become "cannot write <path>: …".
 */
export async function writeFileAtomicWith<T>(
  path: string,
  fill: (write: (chunk: FileContent) => Promise<void>) => Promise<T>,
): Promise<T> {
  const temp = siblingPath(path, "tmp");
  let filling = false;
  try {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(temp, "wx");
    let result: T;
    try {
      const write = async (chunk: FileContent) => {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
        filling = false;
        let written = 0;
        while (written < bytes.length) {
          written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
        }
        filling = true;
      };
      filling = true;
      result = await fill(write);
      filling = false;
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await syncDirectory(dirname(path));
    return result;
  } catch (error) {
    await rm(temp, { force: true });
    throw filling ? error : failure(path, error);
  }
}

/**
 * Synchronous, streaming form: `fill` receives a `write` function and may call it any number of times (a
 * large export need not be held in memory); its return value is returned once the file is in place. An
 * error thrown by `fill` itself is rethrown unchanged (after the temp file is removed); write, sync and
 * rename errors become "cannot write <path>: …".
 */
export function writeFileAtomicSyncWith<T>(
  path: string,
  fill: (write: (chunk: FileContent) => void) => T,
): T {
  const temp = siblingPath(path, "tmp");
  let filling = false;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(temp, "wx");
    let result: T;
    try {
      const write = (chunk: FileContent) => {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
        let written = 0;
        filling = false;
        while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
        filling = true;
      };
      filling = true;
      result = fill(write);
      filling = false;
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    syncDirectorySync(dirname(path));
    return result;
  } catch (error) {
    rmSync(temp, { force: true });
    throw filling ? error : failure(path, error);
  }
}

/** Synchronous twin of writeFileAtomic, for shutdown hooks, CLI steps and other places that do not await. */
export function writeFileAtomicSync(path: string, content: FileContent): void {
  writeFileAtomicSyncWith(path, (write) => write(content));
}

/** fsync every file and folder under `dir` (the folder itself last). */
function syncTreeSync(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) syncTreeSync(path);
    else if (entry.isFile()) {
      const fd = openSync(path, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  }
  syncDirectorySync(dir);
}

async function syncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(path);
    else if (entry.isFile()) {
      const handle = await open(path, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  }
  await syncDirectory(dir);
}

/** Renames the filled temp directory over `dir`, moving an existing `dir` aside (restored on failure). */
function swapInSync(temp: string, dir: string): void {
  if (!existsSync(dir)) {
    renameSync(temp, dir);
    return;
  }
  const old = siblingPath(dir, "old");
  renameSync(dir, old);
  try {
    renameSync(temp, dir);
  } catch (error) {
    renameSync(old, dir);
    throw error;
  }
  rmSync(old, { recursive: true, force: true });
}

async function swapIn(temp: string, dir: string): Promise<void> {
  if (!existsSync(dir)) {
    await rename(temp, dir);
    return;
  }
  const old = siblingPath(dir, "old");
  await rename(dir, old);
  try {
    await rename(temp, dir);
  } catch (error) {
    await rename(old, dir);
    throw error;
  }
  await rm(old, { recursive: true, force: true });
}

/**
 * Publishes a directory atomically: `fill(temp)` writes the content into a fresh temporary directory
 * beside `dir` (created, empty); then it is made durable and renamed over `dir`. On failure the
 * temporary directory is removed and the error rethrown unchanged; `dir` keeps its previous content.
 */
export function publishDirectorySync<T>(dir: string, fill: (temp: string) => T): T {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const temp = siblingPath(dir, "tmp");
  mkdirSync(temp);
  try {
    const result = fill(temp);
    syncTreeSync(temp);
    swapInSync(temp, dir);
    syncDirectorySync(parent);
    return result;
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
}

/** Asynchronous twin of publishDirectorySync. */
export async function publishDirectory<T>(dir: string, fill: (temp: string) => Promise<T>): Promise<T> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const temp = siblingPath(dir, "tmp");
  await mkdir(temp);
  try {
    const result = await fill(temp);
    await syncTree(temp);
    await swapIn(temp, dir);
    await syncDirectory(parent);
    return result;
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}
