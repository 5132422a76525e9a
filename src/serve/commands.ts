// The CLI commands of the serve stage: `skipwise serve` and `skipwise log export`.
import { bundleLoader } from "./bundle-scorer.ts";
import { resolveServeConfig, type ServeFlags } from "./config.ts";
import { exportLogJsonl } from "./log-export.ts";
import { runServe } from "./server.ts";

export async function runServeCommand(flags: ServeFlags): Promise<void> {
  const config = resolveServeConfig(flags);
  const load = bundleLoader({
    data: config.data,
    redis: config.redis,
    redisPrefix: config.redisPrefix,
    onCatalog: (dir) => process.stderr.write(`skipwise serve: reading the catalogue of ${dir}\n`),
  });
  const server = await runServe(config, load, { handleSignals: true });
  await server.closed;
  process.stdout.write("skipwise serve: stopped, decision log closed\n");
}

/** `--db`: a SQLite file or a postgres:// URL (the log replicas share). */
export async function runLogExportCommand(options: {
  db: string;
  out: string;
  includeShadow?: boolean;
}): Promise<void> {
  const lines = await exportLogJsonl(options.db, options.out, { includeShadow: options.includeShadow });
  process.stdout.write(`skipwise log export: ${lines} decisions written to ${options.out}\n`);
}
