// `skipwise ingest <dir>`: load a delivery, print its data-quality report, write quality.json + quality.txt.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomicSync } from "../base/atomic-write.ts";
import { stageProgress } from "../base/progress.ts";
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

/** Runs the command; throws DeliveryError (the CLI prints `skipwise: <file>: <problem>`) on a bad delivery. */
export async function runIngestCommand(dir: string, options: IngestCommandOptions = {}): Promise<Delivery> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  // A bar on a terminal, nothing in logs: stdout carries the report.
  const progress = stageProgress(stderr, { logs: false });
  let delivery: Delivery;
  try {
    delivery = await loadDelivery(dir, {
      onProgress: stderr.isTTY ? progress.megabytes("ingest") : undefined,
    });
  } finally {
    progress.stop();
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
  writeFileAtomicSync(join(out, "quality.json"), json);
  writeFileAtomicSync(join(out, "quality.txt"), table);
  stdout.write(options.json ? json : table);
  return delivery;
}
