// The real service stack for the observability and browser tests (and bench/soak): a synthetic delivery
// and a bundle made by the real CLI, `skipwise serve` as a child process, and a replay of the delivery's
// last listens through /abtest or /v1/predict followed by /v1/feedback with the real outcomes.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { loadDelivery } from "../../src/data/index.ts";
import { buildListens } from "../../src/listens/index.ts";

export const REPO = resolve(import.meta.dirname, "../..");
export const BIN = resolve(REPO, "bin/skipwise.js");

/** Runs the real CLI and returns its stdout; throws with stderr when it fails. */
export function skipwise(args: string[]): string {
  return execFileSync(process.execPath, [BIN, ...args], {
    cwd: REPO,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 1 << 24,
  });
}

/** `skipwise generate --size small` then `skipwise train` (only the models the service needs). */
export function generateAndTrain(dir: string, options: { seed?: number; models?: string } = {}) {
  const delivery = resolve(dir, "delivery");
  const bundle = resolve(dir, "bundle");
  skipwise(["generate", "--out", delivery, "--size", "small", "--seed", String(options.seed ?? 7)]);
  skipwise([
    "train",
    "--data",
    delivery,
    "--out",
    bundle,
    "--models",
    options.models ?? "naive,logistic,gbdt",
  ]);
  return { delivery, bundle };
}

export interface ServeChild {
  process: ChildProcess;
  url: string;
  port: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/** Starts `skipwise serve` on a free loopback port and resolves once it listens. */
export function spawnServe(options: {
  bundle: string;
  data: string;
  db: string;
  port?: number;
  apiKey?: string;
  extra?: string[];
}): Promise<ServeChild> {
  const args = [
    BIN,
    "serve",
    "--bundle",
    options.bundle,
    "--data",
    options.data,
    "--db",
    options.db,
    "--port",
    String(options.port ?? 0),
    "--log-level",
    "warn",
    ...(options.apiKey ? ["--api-key", options.apiKey] : []),
    ...(options.extra ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("exit", (code, signal) => done({ code, signal })),
  );
  return new Promise((done, fail) => {
    let listening = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match && !listening) {
        listening = true;
        const url = match[1].replace("localhost", "127.0.0.1");
        done({
          process: child,
          url,
          port: Number(new URL(url).port),
          output: () => output,
          exited,
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill("SIGTERM");
            await exited;
          },
        });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    exited.then(({ code, signal }) => {
      if (!listening)
        fail(new Error(`skipwise serve exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/** One listen to replay: what the client knows before the track starts, and what happened. */
export interface ReplayListen {
  userId: number;
  trackId: string;
  sessionId: number;
  position: number;
  previousSkipped: boolean | null;
  startMs: number;
  skipped: boolean;
  heardMs: number;
}

/** The last `count` listens of a delivery in time order (the real loader and listen builder). */
export async function lastListens(deliveryDir: string, count: number): Promise<ReplayListen[]> {
  const { catalog, events } = await loadDelivery(deliveryDir);
  const listens = buildListens(events, catalog);
  const previous = new Map<number, boolean>();
  const out: ReplayListen[] = [];
  const from = Math.max(0, listens.length - count);
  for (let i = 0; i < listens.length; i++) {
    const session = listens.sessionId[i];
    const skipped = listens.skipped[i] === 1;
    const before = listens.position[i] === 0 ? null : (previous.get(session) ?? null);
    previous.set(session, skipped);
    if (i < from || !Number.isFinite(listens.heardMs[i])) continue;
    out.push({
      userId: listens.userId[i],
      trackId: catalog.tracks[listens.trackIndex[i]].id,
      sessionId: session,
      position: listens.position[i],
      previousSkipped: before,
      startMs: listens.startMs[i],
      skipped,
      heardMs: Math.max(0, listens.heardMs[i]),
    });
  }
  return out;
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers field by field
): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed };
}

export interface ReplaySummary {
  decisions: number;
  feedback: number;
  /** Requests answered with something other than 200. */
  failures: string[];
  /** Decision ids the service answered. */
  decisionIds: string[];
}

/**
 * Replays listens: each one is predicted (even indexes through /abtest, odd through /v1/predict with the
 * session context) and its real outcome posted to /v1/feedback by decision id. `concurrency` listens in flight.
 */
export async function replay(
  url: string,
  listens: readonly ReplayListen[],
  concurrency = 8,
): Promise<ReplaySummary> {
  const summary: ReplaySummary = { decisions: 0, feedback: 0, failures: [], decisionIds: [] };
  let next = 0;
  const worker = async () => {
    while (next < listens.length) {
      const i = next++;
      const l = listens[i];
      const predicted =
        i % 2 === 0
          ? await postJson(`${url}/abtest`, { user_id: l.userId, track_id: l.trackId })
          : await postJson(`${url}/v1/predict`, {
              user_id: l.userId,
              track_id: l.trackId,
              timestamp_ms: Math.round(l.startMs),
              session: {
                session_id: l.sessionId,
                position: l.position,
                previous_outcome:
                  l.previousSkipped === null ? null : l.previousSkipped ? "skipped" : "played",
              },
            });
      if (predicted.status !== 200) {
        summary.failures.push(`predict ${i}: ${predicted.status} ${JSON.stringify(predicted.body)}`);
        continue;
      }
      summary.decisions++;
      summary.decisionIds.push(predicted.body.decision_id);
      const feedback = await postJson(`${url}/v1/feedback`, {
        decision_id: predicted.body.decision_id,
        outcome: l.skipped ? "skipped" : "played",
        heard_ms: l.heardMs,
      });
      if (feedback.status !== 200) {
        summary.failures.push(`feedback ${i}: ${feedback.status} ${JSON.stringify(feedback.body)}`);
        continue;
      }
      summary.feedback++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return summary;
}
