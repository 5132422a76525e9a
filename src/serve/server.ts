// `skipwise serve`: loads the bundle, opens the decision log, listens, and handles the process signals
// (SIGHUP = reload the bundle, SIGTERM/SIGINT = drain requests, close the log, exit).
import type { FastifyInstance } from "fastify";
import { redactedUrl } from "../base/format.ts";
import { buildApp } from "./app.ts";
import type { ServeConfig } from "./config.ts";
import type { DecisionLog, DecisionLogOptions } from "./decision-log.ts";
import { readExperimentConfig } from "./experiment.ts";
import { isPostgresUrl, PostgresDecisionLog } from "./postgres-decision-log.ts";
import type { Scorer } from "./scorer.ts";
import { SqliteDecisionLog } from "./sqlite-decision-log.ts";

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  /** Resolves when the server has shut down after a signal or `stop()`. */
  closed: Promise<void>;
  stop(): Promise<void>;
}

export async function runServe(
  config: ServeConfig,
  loadScorer: (dir: string) => Promise<Scorer> | Scorer,
  options: { handleSignals?: boolean; announce?: (line: string) => void } = {},
): Promise<RunningServer> {
  const experiment = config.experiment ? readExperimentConfig(config.experiment) : undefined;
  if (isPostgresUrl(config.db) && !config.redis) {
    throw new Error(
      "--db postgres://… is a decision log shared by replicas: they must share their online state too (--redis redis://…)",
    );
  }
  const scorer = await loadScorer(config.bundle);
  let log: DecisionLog;
  try {
    log = await openDecisionLog(config.db, { commitDelayMs: config.commitDelayMs });
  } catch (error) {
    await scorer.close();
    throw error;
  }
  let app: FastifyInstance;
  try {
    app = await buildApp({
      scorer,
      bundleDir: config.bundle,
      loadScorer,
      log,
      experiment,
      apiKey: config.apiKey,
      rateLimit:
        config.rateLimit > 0 ? { max: config.rateLimit, timeWindowMs: config.rateWindowMs } : undefined,
      bodyLimit: config.bodyLimit,
      logger: { level: config.logLevel },
      decisions: config.decisions,
      guardrail: config.guardrail === "on",
      timeouts: { requestMs: config.requestTimeoutMs, keepAliveMs: config.keepAliveTimeoutMs },
    });
  } catch (error) {
    await log.close();
    throw error;
  }
  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  const url = address.replace("[::1]", "localhost");

  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    if (stopping) return stopping;
    // Draining waits for in-flight requests; past the deadline, whatever is still connected is cut.
    const deadline = setTimeout(() => {
      app.log.warn({ afterMs: config.shutdownTimeoutMs }, "shutdown deadline: closing open connections");
      app.server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    deadline.unref();
    stopping = app.close().then(() => {
      clearTimeout(deadline);
      detach();
      resolveClosed();
    });
    return stopping;
  };
  const onHangup = () => {
    app.skipwise.reload().catch((error: Error) => app.log.error(error.message));
  };
  const onTerminate = (signal: NodeJS.Signals) => {
    app.log.info({ signal }, "shutting down: draining requests and closing the decision log");
    stop().catch((error: Error) => {
      app.log.error(error.message);
      process.exitCode = 1;
    });
  };
  const detach = () => {
    if (!options.handleSignals) return;
    process.off("SIGHUP", onHangup);
    process.off("SIGTERM", onTerminate);
    process.off("SIGINT", onTerminate);
  };
  if (options.handleSignals) {
    process.on("SIGHUP", onHangup);
    process.on("SIGTERM", onTerminate);
    process.on("SIGINT", onTerminate);
  }
  // Announced once the signals are handled: whoever waits for this line may send them at once.
  (options.announce ?? ((line) => process.stdout.write(`${line}\n`)))(
    `skipwise serve: listening on ${url} (bundle ${scorer.bundleVersion}, log ${log.path}${config.redis ? `, state in ${redactedUrl(config.redis)}` : ""})`,
  );
  return { app, url, closed, stop };
}

/** The decision log a `--db` names: PostgreSQL for a postgres:// URL, else a SQLite file. */
export async function openDecisionLog(spec: string, options: DecisionLogOptions = {}): Promise<DecisionLog> {
  if (isPostgresUrl(spec)) return PostgresDecisionLog.open(spec, options);
  return new SqliteDecisionLog(spec, options);
}
