// skipwise CLI: thin wiring of commands over the pipeline stages. Each command's work lives in its stage.
import { Command } from "commander";

const program = new Command();
program
  .name("skipwise")
  .description(
    "Predict skip vs full play for music listens, serve the predictions, and measure the cache savings",
  )
  .version("0.1.0")
  .showHelpAfterError();

// --- commands (one block each; keep blocks small: parse options, call the stage, set the exit code) ---

program
  .command("ingest")
  .description("Read a delivery folder, print its data-quality report and write quality.json + quality.txt")
  .argument(
    "<dir>",
    "delivery folder (sessions, tracks, users, artists[, track_storage] as .jsonl or .jsonl.gz)",
  )
  .option("--out <dir>", "folder for quality.json and quality.txt", "out/ingest")
  .option("--json", "print the JSON report instead of the table", false)
  .action(async (dir: string, opts: { out: string; json: boolean }) => {
    const { runIngestCommand } = await import("./data/ingest-command.ts");
    await runIngestCommand(dir, { out: opts.out, json: opts.json });
  });

program
  .command("generate")
  .description("Write a synthetic delivery (real schema, latent skip model, truth.jsonl + manifest.json)")
  .requiredOption("--out <dir>", "folder to create (written to a temp folder, then renamed)")
  .option("--size <size>", "small | demo | production", "demo")
  .option("--seed <n>", "random seed (same seed, same bytes)", "42")
  .option("--dialect <dialect>", "2023L | 2023Z | epoch", "2023L")
  .option(
    "--defects <spec>",
    "kind=rate,... per eligible row (e.g. null_user_id=0.01,duplicate_row=0.005; all=rate)",
  )
  .option("--gzip", "write .jsonl.gz files", false)
  .option("--explicit-bool", "write explicit as true/false instead of 0/1", false)
  .option("--force", "replace an existing non-empty --out folder", false)
  .action(async (opts: Record<string, string | boolean | undefined>) => {
    const { runGenerateCommand } = await import("./synth/generate-command.ts");
    await runGenerateCommand(opts as unknown as import("./synth/generate-command.ts").GenerateCommandOptions);
  });

// --- end of commands ---

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`skipwise: ${message}\n`);
  process.exitCode = 1;
});
