// skipwise CLI: thin wiring of commands over the pipeline stages. Each command's work lives in its stage.
import { Command } from "commander";
import { MODEL_NAMES } from "./models/registry.ts";
import { VERSION } from "./serve/version.ts";

/** The model names `--models` takes: the registry's. */
const MODEL_LIST = MODEL_NAMES.join(",");

const program = new Command();
program
  .name("skipwise")
  .description(
    "Predict skip vs full play for music listens, serve the predictions, and measure the cache savings",
  )
  .version(VERSION)
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
  .option("--scale <k>", "multiply the size's users and sessions by k (10 = 10× production's 4.7 M events)")
  .option("--seed <n>", "random seed (same seed, same bytes)", "42")
  .option("--dialect <dialect>", "2023L | 2023Z | epoch", "2023L")
  .option(
    "--defects <spec>",
    "kind=rate,... per eligible row (e.g. null_user_id=0.01,duplicate_row=0.005; all=rate)",
  )
  .option("--gzip", "write .jsonl.gz files", false)
  .option("--explicit-bool", "write explicit as true/false instead of 0/1", false)
  .option(
    "--drift-at <day>",
    "from this day on (whole days from the period's first day, 0-based) P(skip) depends on neither user nor session; a day at or past the end means no drift",
  )
  .option("--force", "replace an existing non-empty --out folder", false)
  .action(async (opts: Record<string, string | boolean | undefined>) => {
    const { runGenerateCommand } = await import("./synth/generate-command.ts");
    await runGenerateCommand(opts as unknown as import("./synth/generate-command.ts").GenerateCommandOptions);
  });

program
  .command("serve")
  .description("Serve predictions over HTTP (reference routes, /v1 API, A/B test, decision log, /metrics)")
  .option("--bundle <dir>", "model bundle written by `skipwise train` (env SKIPWISE_BUNDLE)")
  .option(
    "--data <dir>",
    "delivery the bundle was trained on, for its catalogue (env SKIPWISE_DATA; required: bundles record no path)",
  )
  .option(
    "--db <file|url>",
    "decision log: a SQLite file, or postgres://… for PostgreSQL shared by replicas (env SKIPWISE_DB, default decisions.db)",
  )
  .option(
    "--redis <url>",
    "keep the online feature state in Redis, shared by replicas (redis://…; load it first with `skipwise state load`; env SKIPWISE_REDIS; default: in this process)",
  )
  .option(
    "--redis-prefix <prefix>",
    "key prefix of the state in Redis (env SKIPWISE_REDIS_PREFIX, default skipwise:)",
  )
  .option("--host <host>", "listen address (env SKIPWISE_HOST, default 127.0.0.1)")
  .option("--port <n>", "listen port, 0 = any free port (env SKIPWISE_PORT, default 8000)")
  .option("--experiment <file>", "A/B experiment config JSON (env SKIPWISE_EXPERIMENT)")
  .option(
    "--api-key-file <path>",
    "file holding the key for POST /admin/reload, header x-api-key, ≥ 16 characters (env SKIPWISE_API_KEY_FILE; preferred)",
  )
  .option(
    "--api-key <key>",
    "the key itself (env SKIPWISE_API_KEY); prefer --api-key-file or the env var: argv is visible in ps",
  )
  .option(
    "--rate-limit <n>",
    "requests per client IP per window on every route but /health, /ready, /metrics; 0 = off (env SKIPWISE_RATE_LIMIT, default 60000)",
  )
  .option("--rate-window-ms <ms>", "rate-limit window (env SKIPWISE_RATE_WINDOW_MS, default 60000)")
  .option("--body-limit <bytes>", "largest request body (env SKIPWISE_BODY_LIMIT, default 1048576)")
  .option("--log-level <level>", "pino log level (env SKIPWISE_LOG_LEVEL, default info)")
  .option(
    "--commit-delay-ms <ms>",
    "extra wait to gather decision-log batches (env SKIPWISE_COMMIT_DELAY_MS)",
  )
  .option(
    "--request-timeout-ms <ms>",
    "deadline to receive a whole request, else 408 (env SKIPWISE_REQUEST_TIMEOUT_MS, default 10000)",
  )
  .option(
    "--keep-alive-timeout-ms <ms>",
    "idle keep-alive connections close after (env SKIPWISE_KEEP_ALIVE_TIMEOUT_MS, default 5000)",
  )
  .option(
    "--shutdown-timeout-ms <ms>",
    "after SIGTERM, connections still open this long are closed (env SKIPWISE_SHUTDOWN_TIMEOUT_MS, default 10000)",
  )
  .option(
    "--guardrail <on|off>",
    "on: a variant whose model is shown (always-valid test) to cost more than caching everything serves PLAY, its model scored in shadow, until the evidence turns (env SKIPWISE_GUARDRAIL, default on)",
  )
  .option(
    "--decisions <who>",
    "policy: the bundle's recommended policy decides | models: each variant's model at its threshold, for an A/B test gathering online evidence (env SKIPWISE_DECISIONS, default policy)",
  )
  .action(async (opts: Record<string, string | undefined>) => {
    const { runServeCommand } = await import("./serve/commands.ts");
    await runServeCommand(opts);
  });

const stateCommand = program
  .command("state")
  .description("Move the online feature state between a bundle and the Redis that replicas share");
stateCommand
  .command("load")
  .description("Write a bundle's feature-state snapshot into Redis (for `skipwise serve --redis`)")
  .requiredOption("--bundle <dir>", "model bundle written by `skipwise train`")
  .requiredOption("--data <dir>", "delivery the bundle was trained on (its catalogue)")
  .option(
    "--redis <url>",
    "redis://[:password@]host:port (default $SKIPWISE_REDIS, which keeps a password out of ps)",
  )
  .option("--prefix <prefix>", "key prefix (default skipwise:)")
  .option("--replace", "overwrite a state already under the prefix", false)
  .action(async (opts: import("./serve/state-command.ts").StateLoadOptions) => {
    const { runStateLoadCommand } = await import("./serve/state-command.ts");
    await runStateLoadCommand(opts);
  });
stateCommand
  .command("export")
  .description("Write the state held in Redis (with what replicas learned) as a feature-state snapshot file")
  .requiredOption("--data <dir>", "delivery of the bundle the state was loaded from (its catalogue)")
  .option(
    "--redis <url>",
    "redis://[:password@]host:port (default $SKIPWISE_REDIS, which keeps a password out of ps)",
  )
  .requiredOption("--out <file>", "snapshot file to write (the bundle's feature-state format)")
  .option("--prefix <prefix>", "key prefix (default skipwise:)")
  .action(async (opts: import("./serve/state-command.ts").StateExportOptions) => {
    const { runStateExportCommand } = await import("./serve/state-command.ts");
    await runStateExportCommand(opts);
  });

const logCommand = program.command("log").description("Work with the decision log of `skipwise serve`");
logCommand
  .command("export")
  .description("Write the decision log as JSONL (the reference's model_usage_log entries plus outcomes)")
  .requiredOption("--db <file|url>", "decision log: a SQLite file, or postgres://… (the log replicas share)")
  .requiredOption("--out <file>", "output .jsonl file")
  .option("--include-shadow", "also export shadow-mode decisions", false)
  .action(async (opts: { db: string; out: string; includeShadow: boolean }) => {
    const { runLogExportCommand } = await import("./serve/commands.ts");
    await runLogExportCommand(opts);
  });

const numberOption = (value: string, name: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number >= 0, got "${value}"`);
  return n;
};

/** An optional number flag: undefined when not given (the cost model then supplies its default). */
const optionalNumber = (value: unknown, name: string): number | undefined =>
  value === undefined ? undefined : numberOption(String(value), name);

/** The three cost-model flags shared by train, evaluate and cache simulate (defaults: DEFAULT_COST_MODEL). */
const COST_FLAGS = [
  ["--cost-waste-per-mb <n>", "cost of one MB prefetched and never played (default 1)"],
  ["--cost-stall <n>", "cost of one full play that was not prefetched (default 4)"],
  ["--bitrate-kbps <n>", "audio bitrate that turns heard time into bytes (default 160)"],
] as const;

const costFlags = (opts: Record<string, unknown>) => ({
  costWastePerMb: optionalNumber(opts.costWastePerMb, "--cost-waste-per-mb"),
  costStall: optionalNumber(opts.costStall, "--cost-stall"),
  bitrateKbps: optionalNumber(opts.bitrateKbps, "--bitrate-kbps"),
});

program
  .command("train")
  .description("Train every model on a delivery (time split, point-in-time features) and write a bundle")
  .requiredOption("--data <dir>", "delivery folder")
  .option("--out <dir>", "bundle folder to write (atomically)", "out/bundle")
  .option("--models <list>", `comma-separated subset of ${MODEL_LIST}`)
  .option(
    "--protocol <name>",
    "time (honest, default) | seed (the reference's leaky protocol, for comparison)",
    "time",
  )
  .option(...COST_FLAGS[0])
  .option(...COST_FLAGS[1])
  .option(...COST_FLAGS[2])
  .option(
    "--max-training-rows <n>",
    "fit on the most recent n listens of the training period (0 = all; default 4000000); the feature state still learns from every event",
  )
  .option("--export-csv <dir>", "with --protocol seed: write the reference's CSV files here")
  .action(async (opts: Record<string, string>) => {
    if (opts.protocol !== "time" && opts.protocol !== "seed") {
      throw new Error(`--protocol must be "time" or "seed", got "${opts.protocol}"`);
    }
    const { runTrainCommand } = await import("./train/train-command.ts");
    await runTrainCommand({
      data: opts.data,
      out: opts.out,
      models: opts.models,
      protocol: opts.protocol,
      maxTrainingRows: opts.maxTrainingRows,
      ...costFlags(opts),
      exportCsv: opts.exportCsv,
    });
  });

program
  .command("evaluate")
  .description("Train and evaluate every model and baseline; write report.html + metrics.json with a verdict")
  .requiredOption("--data <dir>", "delivery folder")
  .option("--out <dir>", "report folder", "out/report")
  .option("--models <list>", `comma-separated subset of ${MODEL_LIST}`)
  .option(...COST_FLAGS[0])
  .option(...COST_FLAGS[1])
  .option(...COST_FLAGS[2])
  .option(
    "--max-training-rows <n>",
    "fit on the most recent n listens of the training period (0 = all; default 4000000); the feature state still learns from every event",
  )
  .option("--bundle-out <dir>", "also write the trained bundle here")
  .option("--no-reference", "leave out the reference protocol comparison")
  .action(async (opts: Record<string, string | boolean>) => {
    const { runEvaluateCommand } = await import("./report/evaluate-command.ts");
    await runEvaluateCommand({
      data: String(opts.data),
      out: String(opts.out),
      models: opts.models as string | undefined,
      maxTrainingRows: opts.maxTrainingRows as string | undefined,
      ...costFlags(opts),
      bundleOut: opts.bundleOut as string | undefined,
      reference: opts.reference !== false,
    });
  });

program
  .command("parity")
  .description(
    "Prove a live service computes what training computed: replay the period after the bundle's training end as raw events and predictions, compare every served feature vector and P(skip) with the offline row; exits 1 on any mismatch",
  )
  .requiredOption(
    "--url <url>",
    "service base URL, e.g. http://127.0.0.1:8000; several comma-separated = replicas sharing one state, each request sent to one of them at random",
  )
  .requiredOption("--data <dir>", "the delivery the served bundle was trained on")
  .option("--seed <n>", "seed of the random spread over several --url (default 1)")
  .option("--bundle <dir>", "the served bundle (default: the directory the service reports at /ready)")
  .option("--from <time>", "ISO time to replay from (default: the bundle's training end = its test start)")
  .option("--models <list>", "comma-separated models to compare (default: every model of the bundle)")
  .action(async (opts: Record<string, string | undefined>) => {
    const { runParityCommand } = await import("./experiment/parity-command.ts");
    const result = await runParityCommand({
      url: String(opts.url),
      data: String(opts.data),
      bundle: opts.bundle,
      from: opts.from,
      models: opts.models,
      seed: opts.seed,
    });
    if (result.mismatchedListens > 0) process.exitCode = 1;
  });

const abtestCommand = program.command("abtest").description("Run an A/B test offline and analyse it");
abtestCommand
  .command("replay")
  .description(
    "Replay a delivery's test-period listens against a running service, posting their real outcomes",
  )
  .requiredOption("--url <url>", "service base URL, e.g. http://127.0.0.1:8000")
  .requiredOption("--data <dir>", "delivery whose listens are replayed")
  .option("--from <time>", "ISO time to replay from (default: start of the last 20 % of listens)")
  .option("--route <route>", "abtest (reference body) | v1 (/v1/predict with session context)", "v1")
  .option("--concurrency <n>", "users replayed at the same time", "32")
  .option("--limit <n>", "replay at most this many listens")
  .action(async (opts: Record<string, string | undefined>) => {
    const { runReplayCommand } = await import("./experiment/replay.ts");
    await runReplayCommand({
      url: String(opts.url),
      data: String(opts.data),
      from: opts.from,
      route: opts.route,
      concurrency: numberOption(String(opts.concurrency), "--concurrency"),
      limit: opts.limit === undefined ? undefined : numberOption(opts.limit, "--limit"),
    });
  });
abtestCommand
  .command("analyze")
  .description("A/B statistics from the decision log: abtest.html + abtest.json")
  .requiredOption("--log <file|url>", "decision log of `skipwise serve`: a SQLite file, or postgres://…")
  .option("--data <dir>", "delivery of the replayed listens: each user's earlier skip rate feeds CUPED")
  .option("--out <dir>", "report folder", "out/abtest")
  .option("--control <variant>", "variant the others are compared against")
  .option("--from <time>", "ISO time the experiment started in the delivery's clock (CUPED cutoff)")
  .option("--experiment <file>", "the service's experiment config (name and SRM weights)")
  .option(COST_FLAGS[0][0], `${COST_FLAGS[0][1]}; prices each variant against cache-everything`)
  .option(...COST_FLAGS[1])
  .option(...COST_FLAGS[2])
  .action(async (opts: Record<string, string | undefined>) => {
    const { runAnalyzeCommand } = await import("./experiment/analyze-command.ts");
    await runAnalyzeCommand({
      ...(opts as unknown as import("./experiment/analyze-command.ts").AnalyzeCommandOptions),
      ...costFlags(opts),
    });
  });

const cacheCommand = program.command("cache").description("Measure what skip-aware prefetching saves");
cacheCommand
  .command("simulate")
  .description(
    "Replay the test period through a prefetching client under every policy: cache.html + cache.json",
  )
  .requiredOption("--data <dir>", "delivery folder")
  .option("--bundle <dir>", "score with this bundle's models (default: train them here)")
  .option("--out <dir>", "report folder", "out/cache")
  .option(COST_FLAGS[2][0], `${COST_FLAGS[2][1]}; with --bundle: the bundle's`)
  .option("--capacity-mb <list>", "device cache capacities in MB, comma-separated (none = skip)", "100,500")
  .option(COST_FLAGS[0][0], `${COST_FLAGS[0][1]}; with --bundle: the bundle's`)
  .option(COST_FLAGS[1][0], `${COST_FLAGS[1][1]}; with --bundle: the bundle's`)
  .option("--models <list>", `without --bundle: models to train (comma-separated subset of ${MODEL_LIST})`)
  .action(async (opts: Record<string, string | undefined>) => {
    const { runCacheSimulateCommand } = await import("./cache/simulate-command.ts");
    const capacities = String(opts.capacityMb);
    await runCacheSimulateCommand({
      data: String(opts.data),
      bundle: opts.bundle,
      out: opts.out,
      ...costFlags(opts),
      capacityMb:
        capacities === "none"
          ? []
          : capacities.split(",").map((s) => numberOption(s.trim(), "--capacity-mb")),
      models: opts.models,
    });
  });

program
  .command("demo")
  .description(
    "The whole system in one command: data, training, report, service, A/B replay, cache simulation",
  )
  .option("--data <dir>", "a real delivery (default: generate a synthetic one)")
  .option("--out <dir>", "folder for every output", "out/demo")
  .option("--serve", "keep the service running at the end (Ctrl-C stops it)", false)
  .option("--port <n>", "service port (0 = any free port)", "0")
  .option("--limit <n>", "replay at most this many listens")
  .option(
    "--drift-at <day>",
    "synthetic delivery: skips stop following the listener from this day (0-based; the demo delivery spans 60 days, its test period starts near day 48), and the summary shows the guardrail falling back",
  )
  .addOption(
    program.createOption("--size <size>", "synthetic delivery size: small | demo").default("demo").hideHelp(),
  )
  .action(async (opts: Record<string, string | boolean | undefined>) => {
    const { runDemoCommand } = await import("./demo.ts");
    await runDemoCommand({
      data: opts.data as string | undefined,
      out: String(opts.out),
      serve: opts.serve === true,
      port: numberOption(String(opts.port), "--port"),
      limit: opts.limit === undefined ? undefined : numberOption(String(opts.limit), "--limit"),
      size: String(opts.size),
      driftAt: opts.driftAt === undefined ? undefined : numberOption(String(opts.driftAt), "--drift-at"),
    });
  });

// --- end of commands ---

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`skipwise: ${message}\n`);
  process.exitCode = 1;
});
