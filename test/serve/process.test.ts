// `skipwise serve` as a real child process: kill -9 under load loses no answered decision, SIGHUP
// reloads the bundle, SIGTERM drains and closes the log.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getText, postJson, tempDir, waitUntil } from "./helpers.ts";
import { REAL_DELIVERY, trainRealBundle } from "./real-bundle.ts";

const BIN = resolve(import.meta.dirname, "../../bin/skipwise.js");

interface Child {
  process: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `skipwise serve` on the real delivery's catalogue (bundles record no delivery path). */
function spawnServe(args: string[]): Promise<Child> {
  const argv = [BIN, "serve", "--data", REAL_DELIVERY, "--port", "0", "--log-level", "warn", ...args];
  const child = spawn(process.execPath, argv, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("close", (code, signal) => done({ code, signal })),
  );
  return new Promise((resolveChild, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolveChild({ process: child, url: match[1], output: () => output, exited });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    exited.then(({ code }) =>
      reject(new Error(`skipwise serve exited (${code}) before listening:\n${output}`)),
    );
  });
}

const TRACKS = [
  "7hXy7Oc0XfODlcR8ESR9up",
  "2PmGtDUyJIpYBEtI1hQIVp",
  "5atzraDZf6C8dEIFBHw3E2",
  "31PzY79H10HCgJs533Xq6B",
];

/** Concurrent clients posting decisions until stopped; returns the decision ids whose answer arrived. */
async function load(
  url: string,
  clients: number,
  shouldStop: () => boolean,
  ids: string[] = [],
): Promise<{ ids: string[]; failures: number }> {
  let failures = 0;
  let n = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (!shouldStop()) {
        const i = n++;
        const route = i % 2 === 0 ? "/abtest" : "/v1/predict";
        try {
          const r = await postJson(`${url}${route}`, {
            user_id: 101 + (i % 50),
            track_id: TRACKS[i % TRACKS.length],
          });
          if (r.status === 200) ids.push(r.body.decision_id);
          else failures++;
        } catch {
          failures++;
          if (shouldStop()) break;
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    }),
  );
  return { ids, failures };
}

describe("skipwise serve as a process", () => {
  let dir: string;
  let bundle: string;

  beforeAll(async () => {
    dir = tempDir("process");
    bundle = join(dir, "bundle");
    await trainRealBundle(bundle, { trees: 10 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("kill -9 under concurrent load loses no decision whose answer was received", async () => {
    const db = join(dir, "crash.db");
    // A 20 ms group-commit window: were answers sent before their commit, a kill would lose answered decisions.
    const server = await spawnServe(["--bundle", bundle, "--db", db, "--commit-delay-ms", "20"]);
    let killed = false;
    const answered: string[] = [];
    const running = load(server.url, 16, () => killed, answered);
    // Let the load run (at least 300 answers, at most 60 s on a busy machine), then kill the server mid-flight.
    await waitUntil("300 answered decisions", () => answered.length >= 300, {
      timeoutMs: 60_000,
      detail: server.output,
    });
    server.process.kill("SIGKILL");
    killed = true;
    const { signal } = await server.exited;
    expect(signal).toBe("SIGKILL");
    const { ids } = await running;
    expect(ids.length).toBeGreaterThanOrEqual(300);

    const check = new Database(db, { readonly: true });
    expect(check.pragma("integrity_check", { simple: true })).toBe("ok");
    const has = check.prepare("SELECT 1 FROM decisions WHERE id = ?");
    const lost = ids.filter((id) => has.get(id) === undefined);
    expect(lost).toEqual([]);
    const total = (check.prepare("SELECT count(*) AS n FROM decisions").get() as { n: number }).n;
    expect(total).toBeGreaterThanOrEqual(ids.length);
    check.close();

    // Restart on the same log: it opens, serves and keeps appending.
    const again = await spawnServe(["--bundle", bundle, "--db", db]);
    const r = await postJson(`${again.url}/abtest`, { user_id: 101, track_id: TRACKS[0] });
    expect(r.status).toBe(200);
    again.process.kill("SIGTERM");
    expect((await again.exited).code).toBe(0);
    const after = new Database(db, { readonly: true });
    expect(after.pragma("integrity_check", { simple: true })).toBe("ok");
    expect((after.prepare("SELECT count(*) AS n FROM decisions").get() as { n: number }).n).toBe(total + 1);
    after.close();
  }, 120_000);

  it("SIGTERM drains in-flight requests, closes the log and exits 0", async () => {
    const db = join(dir, "term.db");
    const server = await spawnServe(["--bundle", bundle, "--db", db]);
    let stop = false;
    const answered: string[] = [];
    const running = load(server.url, 8, () => stop, answered);
    // SIGTERM under load: once the clients' answers are flowing, so requests are in flight when it lands.
    await waitUntil("the first 50 answered decisions", () => answered.length >= 50, {
      detail: server.output,
    });
    server.process.kill("SIGTERM");
    const { code } = await server.exited;
    stop = true;
    const { ids } = await running;
    expect(code).toBe(0);
    expect(server.output()).toContain("stopped, decision log closed");
    const check = new Database(db, { readonly: true });
    const has = check.prepare("SELECT 1 FROM decisions WHERE id = ?");
    expect(ids.filter((id) => has.get(id) === undefined)).toEqual([]);
    const count = (check.prepare("SELECT count(*) AS n FROM decisions").get() as { n: number }).n;
    check.close();

    // skipwise log export writes one JSONL line per decision.
    const out = join(dir, "term.jsonl");
    const printed = execFileSync(process.execPath, [
      BIN,
      "log",
      "export",
      "--db",
      db,
      "--out",
      out,
    ]).toString();
    expect(printed).toContain(`${count} decisions written`);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(lines).toHaveLength(count);
    const exported = new Set(lines.map((line) => JSON.parse(line).decision_id));
    expect(ids.every((id) => exported.has(id))).toBe(true);
  });

  it("SIGHUP reloads the bundle directory, and keeps serving when the new bundle is refused", async () => {
    const live = join(dir, "live-bundle");
    await trainRealBundle(live, { trees: 6 });
    const server = await spawnServe(["--bundle", live, "--db", join(dir, "hup.db")]);
    try {
      const version = async () => JSON.parse((await getText(`${server.url}/ready`)).text).bundle_version;
      const before = await version();
      await trainRealBundle(live, { trees: 4, threshold: 0.3 });
      server.process.kill("SIGHUP");
      let now = before;
      await waitUntil(
        "the reloaded bundle version",
        async () => {
          now = await version();
          return now !== before;
        },
        { timeoutMs: 10_000, detail: server.output },
      );
      expect(now).not.toBe(before);
      rmSync(join(live, "models"), { recursive: true });
      server.process.kill("SIGHUP");
      // The reload is over when the service says it refused the bundle: then the version must be unchanged.
      await waitUntil("the refused reload", () => /refused, still serving/.test(server.output()), {
        timeoutMs: 10_000,
        detail: server.output,
      });
      expect(await version()).toBe(now);
      const r = await postJson(`${server.url}/recommend`, { user_id: 101, track_id: TRACKS[0] });
      expect(r.status).toBe(200);
      expect(server.output()).toMatch(/refused, still serving/);
    } finally {
      server.process.kill("SIGTERM");
      await server.exited;
    }
  });
});
