/**
 * A delivery that cannot be read at all: missing folder, missing or empty required file, a file that is not
 * JSONL. The message is one sentence naming the file and the problem, e.g.
 * `/data/x/sessions.jsonl: file is empty`. Bad lines inside a readable file never throw: they are quarantined.
 */
export class DeliveryError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = "DeliveryError";
  }
}
