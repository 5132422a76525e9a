// Progress lines in logs (no terminal): a start line, a line at each further tenth or every 15 s with the
// percentage, counts and elapsed time, and where a stage that ended early stopped.
import { describe, expect, it } from "vitest";
import { stageProgress } from "../../src/train/progress.ts";

function logStream() {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (text: string) => lines.push(text.trimEnd()) };
  return { lines, stream: stream as unknown as NodeJS.WriteStream };
}

describe("stageProgress in a log", () => {
  it("prints each tenth once with percentage, counts and elapsed time", () => {
    const { lines, stream } = logStream();
    let clock = 0;
    const progress = stageProgress(stream, () => clock);
    for (let done = 0; done <= 300; done++) {
      clock = done * 100; // 0.1 s per step
      progress.update("fit gbdt", done, 300);
    }
    progress.stop();
    expect(lines[0]).toBe("skipwise: fit gbdt…");
    expect(lines.slice(1)).toEqual(
      Array.from({ length: 10 }, (_, k) => {
        const done = (k + 1) * 30;
        return `skipwise: fit gbdt ${(k + 1) * 10} % (${done}/300), ${(done / 10).toFixed(1)} s elapsed`;
      }),
    );
  });

  it("prints every 15 s while a stage crawls, and where a stage that stopped early ended", () => {
    const { lines, stream } = logStream();
    let clock = 0;
    const progress = stageProgress(stream, () => clock);
    progress.update("fit svm", 0, 1000);
    clock = 16_000;
    progress.update("fit svm", 3, 1000);
    clock = 20_000;
    progress.update("fit svm", 4, 1000);
    progress.update("policy", 0, 1);
    expect(lines).toEqual([
      "skipwise: fit svm…",
      "skipwise: fit svm 0 % (3/1000), 16.0 s elapsed",
      "skipwise: fit svm done at 4/1000, 20.0 s",
      "skipwise: policy…",
    ]);
  });
});
