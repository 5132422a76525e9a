// Progress for long CLI steps: on a terminal a bar with counts, percentage and ETA; in logs (no TTY) one
// line when a stage starts, then a line with percentage, counts and elapsed time at each further tenth of
// the stage or every LOG_EVERY_MS, whichever comes first, and one when it ends.
import cliProgress from "cli-progress";

export type ProgressFn = (stage: string, done: number, total: number) => void;

export interface StageProgress {
  update: ProgressFn;
  stop(): void;
}

const LOG_EVERY_MS = 15_000;

export function stageProgress(
  stream: NodeJS.WriteStream = process.stderr,
  now: () => number = () => performance.now(),
): StageProgress {
  let bar: cliProgress.SingleBar | null = null;
  let current = "";
  let started = 0;
  let lastLine = 0;
  let lastTenth = 0;
  let lastDone = 0;
  let lastTotal = 0;
  const elapsed = () => `${((now() - started) / 1000).toFixed(1)} s`;
  const line = (done: number, total: number) => {
    const share = total > 0 ? Math.min(100, (100 * done) / total) : 100;
    stream.write(`skipwise: ${current} ${share.toFixed(0)} % (${done}/${total}), ${elapsed()} elapsed\n`);
    lastLine = now();
  };
  const finish = () => {
    if (bar) {
      bar.stop();
      bar = null;
    } else if (current !== "" && !stream.isTTY && lastTotal > 1 && lastDone < lastTotal) {
      // The stage ended early (early stopping, convergence): say where, and how long it took.
      stream.write(`skipwise: ${current} done at ${lastDone}/${lastTotal}, ${elapsed()}\n`);
    }
  };
  return {
    update(stage, done, total) {
      if (stage !== current) {
        finish();
        current = stage;
        started = now();
        lastLine = started;
        lastTenth = 0;
        if (stream.isTTY) {
          bar = new cliProgress.SingleBar(
            {
              stream,
              format: `${stage.padEnd(16)} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} | {duration_formatted}`,
              hideCursor: true,
              etaBuffer: 20,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(Math.max(1, total), done);
        } else {
          stream.write(`skipwise: ${stage}…\n`);
        }
      } else if (bar) {
        bar.setTotal(Math.max(1, total));
        bar.update(done);
      } else if (total > 1) {
        const tenth = Math.floor((10 * done) / total);
        if (tenth > lastTenth || now() - lastLine >= LOG_EVERY_MS) {
          lastTenth = tenth;
          line(done, total);
        }
      }
      lastDone = done;
      lastTotal = total;
    },
    stop: finish,
  };
}
