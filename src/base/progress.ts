// Progress for long CLI steps, the one implementation every command uses: on a terminal a bar with counts,
// percentage and ETA; in logs (no TTY) one line when a stage starts, then a line with percentage, counts
// and elapsed time at each further tenth of the stage or every LOG_EVERY_MS, whichever comes first, and one
// when a stage ends early. Commands whose output is only a bar pass `logs: false` (nothing without a TTY).
import cliProgress from "cli-progress";

export type ProgressFn = (stage: string, done: number, total: number) => void;

export interface StageProgress {
  update: ProgressFn;
  /** A byte-count callback (`onProgress(readBytes, totalBytes)` of a loader) reporting `stage` in MB. */
  megabytes(stage: string): (bytes: number, totalBytes: number) => void;
  stop(): void;
}

export interface StageProgressOptions {
  /** Clock in ms (default performance.now). */
  now?: () => number;
  /** What the counts count ("listens", "sessions"), shown after them. */
  unit?: string;
  /** Write progress lines when the stream is not a terminal (default true). */
  logs?: boolean;
}

const LOG_EVERY_MS = 15_000;

export function stageProgress(
  stream: NodeJS.WriteStream = process.stderr,
  options: StageProgressOptions = {},
): StageProgress {
  const now = options.now ?? (() => performance.now());
  const logs = options.logs ?? true;
  let bar: cliProgress.SingleBar | null = null;
  let current = "";
  let unit = "";
  let started = 0;
  let lastLine = 0;
  let lastTenth = 0;
  let lastDone = 0;
  let lastTotal = 0;
  const counts = (done: number, total: number) => `${done}/${total}${unit}`;
  const elapsed = () => `${((now() - started) / 1000).toFixed(1)} s`;
  const line = (done: number, total: number) => {
    const share = total > 0 ? Math.min(100, (100 * done) / total) : 100;
    stream.write(
      `skipwise: ${current} ${share.toFixed(0)} % (${counts(done, total)}), ${elapsed()} elapsed\n`,
    );
    lastLine = now();
  };
  const finish = () => {
    if (bar) {
      bar.stop();
      bar = null;
    } else if (logs && current !== "" && !stream.isTTY && lastTotal > 1 && lastDone < lastTotal) {
      // The stage ended early (early stopping, convergence): say where, and how long it took.
      stream.write(`skipwise: ${current} done at ${counts(lastDone, lastTotal)}, ${elapsed()}\n`);
    }
  };
  const report = (stage: string, done: number, total: number, stageUnit: string | undefined) => {
    if (stage !== current) {
      finish();
      current = stage;
      unit = stageUnit ? ` ${stageUnit}` : "";
      started = now();
      lastLine = started;
      lastTenth = 0;
      if (stream.isTTY) {
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: `${stage.padEnd(16)} [{bar}] {percentage}% | {value}/{total}${unit} | ETA {eta_formatted} | {duration_formatted}`,
            hideCursor: true,
            etaBuffer: 20,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(1, total), done);
      } else if (logs) {
        stream.write(`skipwise: ${stage}…\n`);
      }
    } else if (bar) {
      bar.setTotal(Math.max(1, total));
      bar.update(done);
    } else if (logs && total > 1) {
      const tenth = Math.floor((10 * done) / total);
      if (tenth > lastTenth || now() - lastLine >= LOG_EVERY_MS) {
        lastTenth = tenth;
        line(done, total);
      }
    }
    lastDone = done;
    lastTotal = total;
  };
  return {
    update: (stage, done, total) => report(stage, done, total, options.unit),
    megabytes: (stage) => (bytes, totalBytes) =>
      report(stage, Math.round(bytes / 1e6), Math.round(totalBytes / 1e6), "MB"),
    stop: finish,
  };
}
