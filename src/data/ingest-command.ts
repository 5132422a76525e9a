// `skipwise ingest <dir>`: load a delivery, print its data-quality report, write quality.json + quality.txt.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import cliProgress from "cli-progress";
import { type Delivery, loadDelivery } from "./index.ts";
import { formatQualityReport } from "./quality.ts";

export interface IngestCommandOptions {
  /** Output folder for quality.json and quality.txt (default `out/ingest`). */
  out?: string;
  /** Print the JSON report instead of the table. */
  json?: boolean;
  /** Where the report is printed (default process.stdout). */
  stdout?: NodeJS.WritableStream;
  /** Progress bar target; shown only when it is a TTY (default process.stderr). */
  stderr?: NodeJS.WriteStream;
}

export const DEFAULT_INGEST_OUT = "out/ingest";

/** Writes `text` to `path` atomically: a temp file in the same folder, then rename. */
export function writeFileAtomic(path: string, text: string): void {
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, path);
}

/** Runs the command; throws DeliveryError (the CLI prints `skipwise: <file>: <problem>`) on a bad delivery. */
export async function runIngestCommand(dir: string, options: IngestCommandOptions = {}): Promise<Delivery> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const bar = stderr.isTTY
    ? new cliProgress.SingleBar(
        { stream: stderr, format: "ingest [{bar}] {percentage}% | {value}/{total} MB", hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let delivery: Delivery;
  try {
    let started = false;
    delivery = await loadDelivery(dir, {
      onProgress: bar
        ? (read, total) => {
            const mb = (n: number) => Math.round(n / 1e6);
            if (!started) {
              bar.start(mb(total), 0);
              started = true;
            }
            bar.update(mb(read));
          }
        : undefined,
    });
  } finally {
    bar?.stop();
  }
  const table = formatQualityReport(delivery.quality);
  const json = `${JSON.stringify(delivery.quality, null, 2)}\n`;
  const out = resolve(options.out ?? DEFAULT_INGEST_OUT);
  try {
    mkdirSync(out, { recursive: true });
  } catch (error) {
    throw new Error(
      `${out}: cannot create the output folder (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
  writeFileAtomic(join(out, "quality.json"), json);
  writeFileAtomic(join(out, "quality.txt"), table);
  stdout.write(options.json ? json : table);
  return delivery;
}
