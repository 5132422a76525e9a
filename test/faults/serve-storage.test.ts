// Fault cases 2, 4 and 6 of issue 10: a full disk under the decision log (a 1 MiB tmpfs: needs root, which
// CI has), deadlines (a body that never finishes, CONNECT, SIGTERM with a client still connected) and
// corrupt decision logs (at start and found while serving).
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, rmSync, statSync, unlinkSync, writeSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/serve/app.ts";
import { scorerFromBundle } from "../../src/serve/bundle-scorer.ts";
import { type DecisionLog, DecisionLogCorruptError } from "../../src/serve/decision-log.ts";
import { SqliteDecisionLog } from "../../src/serve/sqlite-decision-log.ts";
import { generateAndTrain, spawnServe } from "../observability/service.ts";
import { type SavedWorld, savedWorld } from "../serve/fixture.ts";
import { getText, postJson, tempDir } from "../serve/helpers.ts";
import { countStatus, emptyTally, recordFaults } from "./table.ts";

const IN_CI = process.env.CI === "true";

async function serve(saved: SavedWorld, log: DecisionLog, extra = {}) {
  const app = await buildApp({
    scorer: scorerFromBundle(saved.bundleDir, saved.world.catalog),
    log,
    processMetrics: false,
    ...extra,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (!address || typeof address === "string") throw new Error("no TCP address");
  return { app, url: `http://127.0.0.1:${address.port}` };
}

function tryMountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

/** Writes zeros until the file system says ENOSPC. */
function fillDisk(path: string): void {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(16 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
}

describe("2 disk full under the decision log", () => {
  let saved: SavedWorld;
  let root: string;
  let mount: string;
  let mounted = false;
  const tally = emptyTally();
  beforeAll(() => {
    saved = savedWorld();
    root = tempDir("faults-disk");
    mount = join(root, "small");
    mkdirSync(mount);
    mounted = tryMountTmpfs(mount, "1m");
  });
  afterAll(() => {
    recordFaults("2 disk full", tally);
    if (mounted) execFileSync("umount", ["-l", mount]);
    rmSync(root, { recursive: true, force: true });
  });

  it("503 means nothing was written, /ready follows the disk, and every retry succeeds once space returns", async (ctx) => {
    if (!mounted) {
      if (IN_CI) throw new Error("CI runs as root: mounting a tmpfs for the disk-full case must work");
      ctx.skip();
    }
    const db = join(mount, "decisions.db");
    const { app, url } = await serve(saved, new SqliteDecisionLog(db));
    const t = saved.world.endMs;
    const predict = (user: number) =>
      postJson(`${url}/v1/predict`, { user_id: user, track_id: "T2", model: "gbdt", timestamp_ms: t });
    const acknowledged = new Set<string>();
    const answered = new Set<string>();
    const refusedFeedback: string[] = [];
    try {
      for (let user = 1; user <= 20; user++) {
        const r = await predict(user);
        expect(r.status).toBe(200);
        acknowledged.add(r.body.decision_id);
      }
      fillDisk(join(mount, "filler"));
      // Keep writing until the full disk has refused 20 commits (the WAL may still have room for some:
      // after a checkpoint SQLite reuses its frames). Right after each refusal, /ready is asked and an
      // outcome for an acknowledged decision is sent, while the disk is still full.
      let user = 100;
      let refusedPredictions = 0;
      const readyAfterRefusal: string[] = [];
      const pendingFeedback = [...acknowledged];
      while (refusedPredictions < 20 && user < 5_000) {
        const r = await predict(user++);
        countStatus(tally, r.status);
        if (r.status === 200) {
          acknowledged.add(r.body.decision_id);
          continue;
        }
        expect(r.status).toBe(503);
        expect(r.body.message).toMatch(/nothing was recorded/);
        refusedPredictions++;
        const ready = await getText(`${url}/ready`);
        readyAfterRefusal.push(ready.status === 200 ? "ready" : JSON.parse(ready.text).status);
        const id = pendingFeedback.shift();
        if (id === undefined) continue;
        const f = await postJson(`${url}/v1/feedback`, {
          decision_id: id,
          outcome: "skipped",
          heard_ms: 2_000,
        });
        countStatus(tally, f.status);
        if (f.status === 200) answered.add(id);
        else {
          expect(f.status).toBe(503);
          refusedFeedback.push(id);
        }
      }
      expect(refusedPredictions).toBe(20);
      // Ready answers whether a write can commit now: not ready while the disk refuses writes.
      expect(readyAfterRefusal).toContain("decision log not writable");
      expect(refusedFeedback.length).toBeGreaterThan(0);
      const m = (await getText(`${url}/metrics`)).text;
      const counted = [...m.matchAll(/^skipwise_decisions_total\{[^}]*served="true"\} (\d+)/gm)].reduce(
        (sum, match) => sum + Number(match[1]),
        0,
      );
      expect(counted).toBe(acknowledged.size);

      unlinkSync(join(mount, "filler"));
      expect((await getText(`${url}/ready`)).status).toBe(200);
      // The refused feedback was not half-recorded: each retry is accepted, exactly once.
      for (const id of refusedFeedback) {
        const retry = await postJson(`${url}/v1/feedback`, {
          decision_id: id,
          outcome: "skipped",
          heard_ms: 2_000,
        });
        countStatus(tally, retry.status);
        expect(retry.status).toBe(200);
        answered.add(id);
      }
    } finally {
      await app.close();
    }
    const check = new Database(db, { readonly: true });
    try {
      const ids = new Set(
        (check.prepare("SELECT id FROM decisions WHERE served = 1").all() as { id: string }[]).map(
          (r) => r.id,
        ),
      );
      const lost = [...acknowledged].filter((id) => !ids.has(id)).length;
      const extra = ids.size - (acknowledged.size - lost);
      const feedback = check.prepare("SELECT decision_id FROM feedback").all() as { decision_id: string }[];
      const orphans = feedback.filter((f) => !ids.has(f.decision_id)).length;
      tally.dataLost += lost + orphans + extra;
      expect(lost).toBe(0);
      expect(extra).toBe(0);
      expect(orphans).toBe(0);
      expect(feedback.map((f) => f.decision_id).sort()).toEqual([...answered].sort());
    } finally {
      check.close();
    }
  });
});

describe("4 deadlines", () => {
  let saved: SavedWorld;
  const tally = emptyTally();
  beforeAll(() => {
    saved = savedWorld();
  });
  afterAll(() => recordFaults("4 deadlines", tally));

  /** Opens a raw connection, writes `text`, resolves with what the server sent once it closes the socket. */
  const rawExchange = (url: string, text: string, deadlineMs: number) =>
    new Promise<{ answer: string; closed: boolean }>((done) => {
      const { port } = new URL(url);
      const socket = connect(Number(port), "127.0.0.1", () => socket.write(text));
      let answer = "";
      const timer = setTimeout(() => {
        socket.destroy();
        done({ answer, closed: false });
      }, deadlineMs);
      socket.on("data", (chunk) => (answer += chunk.toString()));
      socket.on("close", () => {
        clearTimeout(timer);
        done({ answer, closed: true });
      });
      socket.on("error", () => undefined);
    });

  it("a body that never finishes is cut at the request deadline; CONNECT gets an answer", async () => {
    const dir = tempDir("faults-deadline");
    const { app, url } = await serve(saved, new SqliteDecisionLog(join(dir, "d.db")), {
      timeouts: { requestMs: 500, keepAliveMs: 500 },
    });
    try {
      const partial = await rawExchange(
        url,
        'POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user_id":',
        15_000,
      );
      tally.tried++;
      if (!partial.closed) tally.hangs++;
      expect(partial.closed).toBe(true);
      const headers = await rawExchange(url, "POST /v1/predict HTTP/1.1\r\nHost: x\r\n", 15_000);
      tally.tried++;
      if (!headers.closed) tally.hangs++;
      expect(headers.closed).toBe(true);
      const tunnel = await rawExchange(
        url,
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        15_000,
      );
      tally.tried++;
      if (!tunnel.closed) tally.hangs++;
      expect(tunnel.answer).toMatch(/^HTTP\/1\.1 405/);
      tally.clean4xx++;
      // The service still answers normally.
      expect((await getText(`${url}/health`)).status).toBe(200);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("after SIGTERM the process exits by the shutdown deadline even with a client holding a request open", async () => {
    const dir = tempDir("faults-sigterm");
    const { delivery, bundle } = generateAndTrain(dir, { seed: 3, models: "naive,logistic" });
    const server = await spawnServe({
      bundle,
      data: delivery,
      db: join(dir, "d.db"),
      extra: ["--request-timeout-ms", "600000", "--shutdown-timeout-ms", "1000"],
    });
    const within = <T>(what: string, promise: Promise<T>, ms: number) =>
      Promise.race([
        promise,
        new Promise<never>((_, fail) =>
          setTimeout(() => fail(new Error(`${what}: not within ${ms} ms\n${server.output()}`)), ms).unref(),
        ),
      ]);
    try {
      const socket = connect(server.port, "127.0.0.1");
      const closedByServer = new Promise((done) => socket.once("close", done));
      socket.on("error", () => undefined);
      // Read (and drop) whatever the server sends: a paused socket never sees the end of the stream.
      socket.resume();
      await within("connect", new Promise((done) => socket.once("connect", done)), 20_000);
      // Headers of a request whose body never comes: the request is in flight when SIGTERM arrives.
      socket.write(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{",
      );
      server.process.kill("SIGTERM");
      tally.tried++;
      const result = await within("exit after SIGTERM", server.exited, 30_000).catch((error: Error) => {
        tally.hangs++;
        throw error;
      });
      expect(result, server.output()).toEqual({ code: 0, signal: null });
      await within("the held connection to close", closedByServer, 5_000);
    } finally {
      if (server.process.exitCode === null) server.process.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe("6 corrupt decision logs", () => {
  let saved: SavedWorld;
  let dir: string;
  const tally = emptyTally();
  beforeAll(() => {
    saved = savedWorld();
    dir = tempDir("faults-corrupt");
  });
  afterAll(() => {
    recordFaults("6 corrupt decision log", tally);
    rmSync(dir, { recursive: true, force: true });
  });

  const row = (i: number) => ({
    id: `c${String(i).padStart(6, "0")}`,
    tsMs: 1_700_000_000_000 + i,
    listenMs: 1_700_000_000_000 + i,
    route: "/v1/predict",
    experiment: null,
    variant: null,
    model: "gbdt",
    bundleVersion: "v",
    userId: 1 + (i % 50),
    trackId: `T${i % 30}`,
    sessionId: null,
    position: null,
    probSkip: 0.3,
    threshold: 0.5,
    decision: "PLAY" as const,
    coldUser: false,
    coldTrack: false,
    served: true,
    shadowOf: null,
  });

  async function filledLog(path: string, rows: number): Promise<void> {
    const log = new SqliteDecisionLog(path, { checkpointIntervalMs: 0 });
    for (let i = 0; i < rows; i++) log.record(row(i));
    await log.flush();
    await log.close();
  }

  function overwritePages(path: string, fromPage: number, pages: number): void {
    const fd = openSync(path, "r+");
    const garbage = Buffer.alloc(4096, 0xa5);
    for (let p = fromPage; p < fromPage + pages; p++) writeSync(fd, garbage, 0, garbage.length, p * 4096);
    closeSync(fd);
  }

  it("refuses to start on a damaged or foreign file, naming it and the way out", async () => {
    const cases: { name: string; make: (path: string) => Promise<void> | void }[] = [
      { name: "text file", make: (p) => void writeSync(openSync(p, "w"), "this is not a database\n") },
      {
        name: "zeroed header",
        make: async (p) => {
          await filledLog(p, 3_000);
          overwritePages(p, 0, 1);
        },
      },
      {
        name: "50 overwritten pages",
        make: async (p) => {
          await filledLog(p, 20_000);
          overwritePages(p, 5, 50);
        },
      },
    ];
    for (const c of cases) {
      const path = join(dir, `${c.name.replaceAll(" ", "-")}.db`);
      await c.make(path);
      tally.tried++;
      let error: unknown;
      try {
        await new SqliteDecisionLog(path).close();
      } catch (e) {
        error = e;
      }
      expect(error, c.name).toBeInstanceOf(DecisionLogCorruptError);
      expect((error as Error).message).toContain(path);
      expect((error as Error).message).toMatch(/move it aside/);
      tally.clean4xx++;
    }
  });

  it("corruption found while serving: 503 (not 500), not ready, logged once", async () => {
    const path = join(dir, "runtime.db");
    await filledLog(path, 20_000);
    const problems: unknown[] = [];
    const log = new SqliteDecisionLog(path, { recentCapacity: 1 });
    const { app, url } = await serve(saved, log);
    const previous = log.onProblem;
    log.onProblem = (p) => {
      problems.push(p);
      previous?.(p);
    };
    try {
      expect((await getText(`${url}/ready`)).status).toBe(200);
      // Another connection's commit makes the service's connection drop its page cache at its next read
      // (SQLite's WAL change detection), so what it reads next comes from the damaged file.
      const other = new Database(path);
      other.prepare("INSERT OR REPLACE INTO heartbeat (id, ts_ms) VALUES (1, 1)").run();
      other.close();
      const pages = Math.floor(statSync(path).size / 4096);
      overwritePages(path, 1, pages - 1);
      const statuses: number[] = [];
      for (let i = 19_999; i > 19_700; i -= 7) {
        const r = await postJson(`${url}/v1/feedback`, { decision_id: row(i).id, outcome: "played" });
        countStatus(tally, r.status);
        statuses.push(r.status);
      }
      expect(statuses.filter((s) => s >= 500 && s !== 503)).toEqual([]);
      expect(statuses).toContain(503);
      const ready = await getText(`${url}/ready`);
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.text).status).toBe("decision log corrupt");
      expect(problems.length).toBe(1);
    } finally {
      await app.close();
    }
  });
});
