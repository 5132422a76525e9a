// Progress for long CLI steps: a bar on a terminal, one line per stage otherwise (CI logs stay short).
import cliProgress from "cli-progress";

export type ProgressFn = (stage: string, done: number, total: number) => void;

export interface StageProgress {
  update: ProgressFn;
  stop(): void;
}

export function stageProgress(stream: NodeJS.WriteStream = process.stderr): StageProgress {
  let bar: cliProgress.SingleBar | null = null;
  let current = "";
  const finish = () => {
    bar?.stop();
    bar = null;
  };
  return {
    update(stage, done, total) {
      if (stage !== current) {
        finish();
        current = stage;
        if (stream.isTTY) {
          bar = new cliProgress.SingleBar(
            {
              stream,
              format: `${stage.padEnd(16)} [{bar}] {percentage}% | {value}/{total}`,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(Math.max(1, total), done);
        } else {
          stream.write(`skipwise: ${stage}…\n`);
        }
        return;
      }
      bar?.setTotal(Math.max(1, total));
      bar?.update(done);
    },
    stop: finish,
  };
}
