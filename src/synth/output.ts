// Buffered line output: lines are encoded straight into large byte buffers and handed to the file stream
// (optionally through gzip) a few megabytes at a time, honouring backpressure. Per-line writes, or one big
// concatenated string per chunk, would dominate generation time (and garbage collection).
import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { createGzip, type Gzip } from "node:zlib";

const BUFFER_BYTES = 1 << 22;
const NEWLINE = 10;

export class LineSink {
  private buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  private offset = 0;
  private readonly full: Buffer[] = [];
  private readonly file: WriteStream;
  private readonly gzip: Gzip | null;
  private failure: Error | null = null;
  lines = 0;
  /** Uncompressed bytes handed to the stream so far. */
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

  private get target(): NodeJS.WritableStream {
    return this.gzip ?? this.file;
  }

  private check(): void {
    if (this.failure) throw new Error(`cannot write ${this.path}: ${this.failure.message}`);
  }

  /** Appends one line (without its newline). Call `maybeFlush` now and then. */
  push(line: string): void {
    // Worst case 3 bytes per UTF-16 unit; the generator writes ASCII, so this rarely rotates early.
    if (this.offset + line.length * 3 + 1 > this.buffer.length) this.rotate(line.length * 3 + 1);
    this.offset += this.buffer.write(line, this.offset, "utf8");
    this.buffer[this.offset++] = NEWLINE;
    this.lines++;
  }

  private rotate(atLeast: number): void {
    if (this.offset > 0) this.full.push(this.buffer.subarray(0, this.offset));
    this.buffer = Buffer.allocUnsafe(Math.max(BUFFER_BYTES, atLeast));
    this.offset = 0;
  }

  /** True when a buffer is full and waiting: time to call `maybeFlush`. */
  get readyToFlush(): boolean {
    return this.full.length > 0;
  }

  /** Hands completed buffers to the stream (waiting for it to drain when it asks). */
  async maybeFlush(): Promise<void> {
    this.check();
    while (this.full.length > 0) {
      const chunk = this.full.shift() as Buffer;
      this.bytes += chunk.length;
      if (!this.target.write(chunk)) await once(this.target as NodeJS.EventEmitter, "drain");
    }
  }

  async flush(): Promise<void> {
    this.rotate(0);
    await this.maybeFlush();
  }

  async close(): Promise<void> {
    await this.flush();
    const finished = once(this.file, "close");
    this.target.end();
    await finished;
    this.check();
  }
}
