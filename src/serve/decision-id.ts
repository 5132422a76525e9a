// Decision ids that sort by creation time: inserts land at the right edge of the log's id index, so a
// group commit touches a few pages instead of one random page per decision (as random UUIDs would).
import { randomBytes } from "node:crypto";

export class DecisionIds {
  /** Distinguishes processes that start within the same millisecond. */
  private readonly process = randomBytes(4).toString("hex");
  private counter = 0;

  /** `<epoch ms, base 36>-<counter, base 36>-<process>`, fixed width, so string order = time order. */
  next(nowMs: number): string {
    const time = nowMs.toString(36).padStart(9, "0");
    const count = (this.counter++ % 36 ** 6).toString(36).padStart(6, "0");
    return `${time}-${count}-${this.process}`;
  }
}
