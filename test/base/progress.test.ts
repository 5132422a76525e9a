// Progress lines in logs (no terminal): a start line, a line at each further tenth or every 15 s with the
// percentage, counts and elapsed time, and where a stage that ended early stopped.
import { describe, expect, it } from "vitest";
import { stageProgress } from "../../src/base/progress.ts";

function logStream() {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (text: string) => lines.push(text.trimEnd()) };
  return { lines, stream: stream as unknown as NodeJS.WriteStream };
}

describe("stageProgress in a log", () => {
  it("prints each tenth once with percentage, counts and elapsed time", () => {
    const { lines, stream } = logStream();
    let clock = 0;
    const progress = stageProgress(stream, { now: () => clock });
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
    const progress = stageProgress(stream, { now: () => clock });
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

describe("stageProgress options", () => {
  it("names the unit after the counts, and reports byte counts in MB", () => {
    const { lines, stream } = logStream();
    let clock = 0;
    const progress = stageProgress(stream, { now: () => clock, unit: "listens" });
    progress.update("replay", 0, 20);
    clock = 1_000;
    progress.update("replay", 2, 20);
    const bytes = progress.megabytes("ingest");
    bytes(0, 50e6);
    clock = 3_000;
    bytes(5.2e6, 50e6);
    progress.stop();
    expect(lines).toEqual([
      "skipwise: replay…",
      "skipwise: replay 10 % (2/20 listens), 1.0 s elapsed",
      "skipwise: replay done at 2/20 listens, 1.0 s",
      "skipwise: ingest…",
      "skipwise: ingest 10 % (5/50 MB), 2.0 s elapsed",
      "skipwise: ingest done at 5/50 MB, 2.0 s",
    ]);
  });

  it("writes nothing without a terminal when logs are off", () => {
    const stream = { isTTY: false } as unknown as NodeJS.WriteStream; // no write(): any line would throw
    const progress = stageProgress(stream, { logs: false });
    for (let done = 0; done <= 10; done++) progress.update("generate", done, 10);
    progress.update("other", 1, 5);
    progress.stop();
  });
});
