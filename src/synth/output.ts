// Buffered line output: lines are appended to a large string and handed to the file stream in megabyte
// chunks (optionally through gzip), honouring backpressure. Per-line writes would dominate generation time.

import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { createGzip, type Gzip } from "node:zlib";

const FLUSH_CHARS = 1 << 21;

export class LineSink {
  private chunk = "";
  private readonly file: WriteStream;
  private readonly gzip: Gzip | null;
  private failure: Error | null = null;
  lines = 0;
  /** Uncompressed bytes written so far (excluding the unflushed chunk). */
  bytes = 0;

  constructor(
    readonly path: string,
    gzip: boolean,
  ) {
    this.file = createWriteStream(path);
    this.gzip = gzip ? createGzip({ level: 4 }) : null;
    if (this.gzip) this.gzip.pipe(this.file);
    const fail = (error: Error) => {
      this.failure ??= error;
    };
    this.file.on("error", fail);
    this.gzip?.on("error", fail);
  }

  private check(): void {
    if (this.failure) throw new Error(`cannot write ${this.path}: ${this.failure.message}`);
  }

  private get target(): NodeJS.WritableStream {
    return this.gzip ?? this.file;
  }

  /** Appends one line (without its newline). Call `maybeFlush` now and then. */
  push(line: string): void {
    this.chunk += `${line}\n`;
    this.lines++;
  }

  get pendingChars(): number {
    return this.chunk.length;
  }

  async maybeFlush(): Promise<void> {
    if (this.chunk.length >= FLUSH_CHARS) await this.flush();
  }

  async flush(): Promise<void> {
    this.check();
    if (this.chunk.length === 0) return;
    const buffer = Buffer.from(this.chunk, "utf8");
    this.chunk = "";
    this.bytes += buffer.length;
    if (!this.target.write(buffer)) await once(this.target as NodeJS.EventEmitter, "drain");
  }

  async close(): Promise<void> {
    await this.flush();
    const finished = once(this.file, "close");
    this.target.end();
    await finished;
    this.check();
  }
}
