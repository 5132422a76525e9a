// Chunked line splitting over plain or gzip files. Files are read in large chunks and lines are found with
// Buffer.indexOf, so no string is built unless a reader asks for one.
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { DeliveryError } from "./errors.ts";

/**
 * Called once per line. `bytes[start, end)` is the line without its `\n` (and without a trailing `\r`);
 * `offset` is the line's byte offset in the (decompressed) stream; `lineNo` is 1-based and counts blank lines.
 */
export type LineHandler = (bytes: Buffer, start: number, end: number, lineNo: number, offset: number) => void;

/** Non-blank lines that all fail to decode before a file is declared "not JSONL at all". */
export const NOT_JSONL_AFTER_LINES = 20;

const CHUNK_BYTES = 4 << 20;
const BINARY_SNIFF_BYTES = 8192;

/** What readLines noticed about the file as a whole. */
export interface LinesRead {
  /** The (decompressed) stream began with a UTF-8 byte-order mark, left out of line 1. */
  bomStripped: boolean;
  /**
   * sha256 (hex) of the file's bytes as stored (compressed for gzip), hashed as they are read: a delivery's
   * content address costs no second pass over its gigabytes.
   */
  sha256: string;
}

/**
 * Streams `path` line by line. A UTF-8 byte-order mark (EF BB BF) at the very start is not part of line 1
 * (editors on Windows write one; JSON.parse would reject the line); line 1's `offset` is then 3.
 * `onBytes(n)` reports raw (compressed) bytes read as they arrive; the same bytes go into `sha256`.
 * Throws DeliveryError (naming `displayPath`) for binary content or a corrupt gzip stream.
 */
export async function readLines(
  path: string,
  displayPath: string,
  gzip: boolean,
  onLine: LineHandler,
  onBytes?: (n: number) => void,
): Promise<LinesRead> {
  const splitter = new LineSplitter(displayPath, onLine);
  const hash = createHash("sha256");
  try {
    if (gzip) await readGzip(path, splitter, hash, onBytes);
    else await readPlain(path, splitter, hash, onBytes);
    splitter.finish();
    return { bomStripped: splitter.bomStripped, sha256: hash.digest("hex") };
  } catch (error) {
    if (error instanceof DeliveryError) throw error;
    const code = (error as { code?: string }).code ?? "";
    if (code.startsWith("Z_")) {
      throw new DeliveryError(displayPath, `is not a valid gzip stream (${(error as Error).message})`);
    }
    throw new DeliveryError(displayPath, `cannot be read (${(error as Error).message})`);
  }
}

/** Plain files are read straight into the splitter's buffer: no per-chunk allocation or copy. */
async function readPlain(
  path: string,
  splitter: LineSplitter,
  hash: Hash,
  onBytes?: (n: number) => void,
): Promise<void> {
  const handle = await open(path, "r");
  try {
    for (;;) {
      const target = splitter.reserve(CHUNK_BYTES);
      const { bytesRead } = await handle.read(target, 0, target.length, null);
      if (bytesRead === 0) break;
      hash.update(target.subarray(0, bytesRead));
      onBytes?.(bytesRead);
      splitter.commit(bytesRead);
    }
  } finally {
    await handle.close();
  }
}

async function readGzip(
  path: string,
  splitter: LineSplitter,
  hash: Hash,
  onBytes?: (n: number) => void,
): Promise<void> {
  const raw = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  raw.on("data", (chunk) => {
    hash.update(chunk);
    onBytes?.(chunk.length);
  });
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  raw.on("error", (error) => gunzip.destroy(error));
  try {
    for await (const chunk of raw.pipe(gunzip) as AsyncIterable<Buffer>) {
      splitter.reserve(chunk.length).set(chunk);
      splitter.commit(chunk.length);
    }
  } finally {
    raw.destroy();
    gunzip.destroy();
  }
}

/** Accumulates bytes and hands out complete lines; an unfinished line is kept for the next chunk. */
class LineSplitter {
  private work = Buffer.allocUnsafe(CHUNK_BYTES * 2);
  private pending = 0; // bytes of an unfinished line at work[0, pending)
  private streamOffset = 0; // stream offset of work[0]
  private lineNo = 0;
  private first = true;
  /** Stream start not yet looked at for a byte-order mark (fewer than 3 bytes and no newline seen so far). */
  private bomPending = true;
  bomStripped = false;

  constructor(
    private readonly displayPath: string,
    private readonly onLine: LineHandler,
  ) {}

  /** Room for `n` more bytes after the pending ones. */
  reserve(n: number): Buffer {
    if (this.pending + n > this.work.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.work.length * 2, this.pending + n));
      this.work.copy(bigger, 0, 0, this.pending);
      this.work = bigger;
    }
    return this.work.subarray(this.pending, this.pending + n);
  }

  /** `n` bytes were written into the reserved room: emit every complete line. */
  commit(n: number): void {
    const work = this.work;
    if (this.first) {
      this.first = false;
      if (work.subarray(0, Math.min(n, BINARY_SNIFF_BYTES)).includes(0)) {
        throw new DeliveryError(this.displayPath, "is a binary file, not JSONL (it contains NUL bytes)");
      }
    }
    const length = this.pending + n;
    const view = work.subarray(0, length);
    let pos = 0;
    if (this.bomPending) {
      if (length < BOM.length && !view.includes(10)) {
        this.pending = length; // too short to tell yet: wait for more bytes
        return;
      }
      this.bomPending = false;
      if (startsWithBom(view, length)) {
        this.bomStripped = true;
        pos = BOM.length;
      }
    }
    for (let nl = view.indexOf(10, pos); nl !== -1; nl = view.indexOf(10, pos)) {
      this.lineNo++;
      const end = nl > pos && view[nl - 1] === 13 ? nl - 1 : nl;
      this.onLine(view, pos, end, this.lineNo, this.streamOffset + pos);
      pos = nl + 1;
    }
    work.copy(work, 0, pos, length);
    this.pending = length - pos;
    this.streamOffset += pos;
  }

  /** End of input: a last line without a newline. */
  finish(): void {
    this.bomPending = false;
    if (this.pending === 0) return;
    this.lineNo++;
    const end = this.work[this.pending - 1] === 13 ? this.pending - 1 : this.pending;
    this.onLine(this.work, 0, end, this.lineNo, this.streamOffset);
    this.pending = 0;
  }
}

const BOM = [0xef, 0xbb, 0xbf];

function startsWithBom(bytes: Uint8Array, length: number): boolean {
  return length >= BOM.length && bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2];
}

/** True when bytes[start, end) holds only JSON whitespace. */
export function isBlank(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b !== 32 && b !== 9 && b !== 13) return false;
  }
  return true;
}
