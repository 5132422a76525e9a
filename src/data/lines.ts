// Chunked line splitting over plain or gzip files. Files are read in large chunks and lines are found with
// Buffer.indexOf, so no string is built unless a reader asks for one.
import { createReadStream } from "node:fs";
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

/**
 * Streams `path` line by line. `onBytes(n)` reports raw (compressed) bytes read as they arrive.
 * Throws DeliveryError (naming `displayPath`) for binary content or a corrupt gzip stream.
 */
export async function readLines(
  path: string,
  displayPath: string,
  gzip: boolean,
  onLine: LineHandler,
  onBytes?: (n: number) => void,
): Promise<void> {
  const raw = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  if (onBytes) raw.on("data", (chunk) => onBytes(chunk.length));
  const gunzip = gzip ? createGunzip({ chunkSize: 1 << 20 }) : null;
  const source = gunzip ? raw.pipe(gunzip) : raw;
  raw.on("error", (error) => gunzip?.destroy(error));

  let work = Buffer.allocUnsafe(CHUNK_BYTES * 2);
  let pending = 0; // bytes of an unfinished line at work[0, pending)
  let streamOffset = 0; // stream offset of work[0]
  let lineNo = 0;
  let first = true;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (first) {
        first = false;
        if (chunk.subarray(0, BINARY_SNIFF_BYTES).includes(0)) {
          throw new DeliveryError(displayPath, "is a binary file, not JSONL (it contains NUL bytes)");
        }
      }
      if (pending + chunk.length > work.length) {
        const bigger = Buffer.allocUnsafe(Math.max(work.length * 2, pending + chunk.length));
        work.copy(bigger, 0, 0, pending);
        work = bigger;
      }
      chunk.copy(work, pending);
      const length = pending + chunk.length;
      const view = work.subarray(0, length);
      let pos = 0;
      for (let nl = view.indexOf(10, pos); nl !== -1; nl = view.indexOf(10, pos)) {
        lineNo++;
        const end = nl > pos && view[nl - 1] === 13 ? nl - 1 : nl;
        onLine(view, pos, end, lineNo, streamOffset + pos);
        pos = nl + 1;
      }
      work.copy(work, 0, pos, length);
      pending = length - pos;
      streamOffset += pos;
    }
    if (pending > 0) {
      lineNo++;
      const end = work[pending - 1] === 13 ? pending - 1 : pending;
      onLine(work, 0, end, lineNo, streamOffset);
    }
  } catch (error) {
    if (error instanceof DeliveryError) throw error;
    const code = (error as { code?: string }).code ?? "";
    if (code.startsWith("Z_") || code === "ERR_INVALID_ARG_TYPE") {
      throw new DeliveryError(displayPath, `is not a valid gzip stream (${(error as Error).message})`);
    }
    throw new DeliveryError(displayPath, `cannot be read (${(error as Error).message})`);
  } finally {
    raw.destroy();
    gunzip?.destroy();
  }
}

/** True when bytes[start, end) holds only JSON whitespace. */
export function isBlank(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b !== 32 && b !== 9 && b !== 13) return false;
  }
  return true;
}
