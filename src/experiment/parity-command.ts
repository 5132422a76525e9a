// `skipwise parity`: replays a delivery's period after the bundle's training end against a live service
// and exits non-zero unless every served vector and probability equals the offline one.
import { resolve } from "node:path";
import { stageProgress } from "../base/progress.ts";
import { ServiceClient } from "./http-client.ts";
import { checkParity, formatParity, type ParityResult } from "./parity.ts";

export interface ParityCommandOptions {
  /** The service's URL; several comma-separated = replicas, each request sent to one at random. */
  url: string;
  /** Seed of that random spread. */
  seed?: string;
  data: string;
  /** The served bundle's directory; default: the one the service reports at /ready. */
  bundle?: string;
  from?: string;
  /** Comma-separated models to compare (default: all of the bundle's). */
  models?: string;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WriteStream;
}

export async function runParityCommand(options: ParityCommandOptions): Promise<ParityResult> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  let fromMs: number | undefined;
  if (options.from !== undefined) {
    fromMs = Date.parse(options.from);
    if (!Number.isFinite(fromMs)) throw new Error(`--from: not an ISO time: "${options.from}"`);
  }
  const urls = options.url
    .split(",")
    .map((u) => u.trim())
    .filter(Boolean);
  const clients = urls.map((url) => new ServiceClient(url, { maxSockets: 1 }));
  const client = clients[0];
  try {
    let bundleDir = options.bundle;
    if (bundleDir === undefined) {
      const ready = await client.get<{ bundle_dir?: string }>("/ready");
      if (!ready.body.bundle_dir)
        throw new Error("the service does not report its bundle directory: pass --bundle <dir>");
      bundleDir = ready.body.bundle_dir;
    }
    const { loadDelivery } = await import("../data/index.ts");
    const delivery = await loadDelivery(resolve(options.data));
    const progress = stageProgress(stderr, { unit: "listens" });
    const result = await checkParity({
      client: clients,
      seed: options.seed === undefined ? undefined : Number(options.seed),
      delivery,
      bundleDir: resolve(bundleDir),
      fromMs,
      models: options.models
        ?.split(",")
        .map((m) => m.trim())
        .filter(Boolean),
      onProgress: (done, total) => progress.update("parity", done, total),
    });
    progress.stop();
    stdout.write(`${formatParity(result).join("\n")}\n`);
    return result;
  } finally {
    for (const c of clients) c.close();
  }
}
