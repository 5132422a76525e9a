// skipwise CLI: thin wiring of commands over the pipeline stages. Each command's work lives in its stage.
import { Command } from "commander";

const program = new Command();
program
  .name("skipwise")
  .description("Predict skip vs full play for music listens, serve the predictions, and measure the cache savings")
  .version("0.1.0")
  .showHelpAfterError();

// --- commands (one block each; keep blocks small: parse options, call the stage, set the exit code) ---

// --- end of commands ---

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`skipwise: ${message}\n`);
  process.exitCode = 1;
});
