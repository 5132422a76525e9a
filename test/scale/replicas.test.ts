// Three `skipwise serve` replicas sharing their online state in a real Redis and their decision log in a real
// PostgreSQL, behind a real nginx, against one embedded process (state in memory, SQLite):
// - equality: the test period of 2023L-v2 replayed as events + predictions, each request sent to a replica at
//   random, gives the embedded process's vectors, probabilities and decisions (skipwise parity, both sides);
// - feedback for one decision sent to two replicas at once is recorded once;
// - faults, each under load, counted in PostgreSQL and printed: kill -9 of one replica, kill -9 of Redis
//   (AOF, appendfsync always), PostgreSQL stopped for 5 s.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../bench/serve-process.ts";
import { loadDelivery } from "../../src/data/index.ts";
import type { Catalog } from "../../src/data/types.ts";
import { ServiceClient } from "../../src/experiment/http-client.ts";
import { checkParity } from "../../src/experiment/parity.ts";
import { exportSnapshotFromRedis } from "../../src/features/redis-snapshot.ts";
import { connectRedis } from "../../src/features/redis-store.ts";
import { runStateLoadCommand } from "../../src/serve/state-command.ts";
import { runTrainCommand } from "../../src/train/train-command.ts";
import { sharedDelivery } from "../helpers/shared-data.ts";
import { type Nginx, startNginx } from "./nginx.ts";
import {
  exited,
  type PostgresServer,
  type RedisServer,
  scaleServersOrSkip,
  startPostgres,
  startRedis,
} from "./servers.ts";

const DATA = sharedDelivery("2023L-v2");
const skip = scaleServersOrSkip(["redis", "postgres", "nginx"]);
const quiet = { write: () => true } as unknown as NodeJS.WritableStream;

interface Replica {
  child: ChildProcess;
  url: string;
}

/** Waits (polling, with a deadline) until `check` holds. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface LoadCounts {
  sent: number;
  /** Decisions answered 200 (their ids), events answered 200 (their keys). */
  decisions: string[];
  events: string[];
  status: Map<number | string, number>;
}

/**
 * Keeps `workers` clients posting a prediction and one event (a fresh play of its own session) each, until
 * `stop()`; every request has a 10 s deadline, so a hang shows up as a "timeout" status.
 */
function load(url: string, catalog: Catalog, workers: number, sessionBase: number) {
  const counts: LoadCounts = { sent: 0, decisions: [], events: [], status: new Map() };
  let running = true;
  const users = [...catalog.users.keys()];
  const count = (status: number | string) => counts.status.set(status, (counts.status.get(status) ?? 0) + 1);
  const post = async (path: string, body: unknown): Promise<{ status: number; body: unknown } | null> => {
    counts.sent++;
    try {
      const response = await fetch(`${url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      count(response.status);
      return { status: response.status, body: await response.json().catch(() => null) };
    } catch (error) {
      count((error as Error).name === "TimeoutError" ? "timeout" : "connection error");
      return null;
    }
  };
  const worker = async (w: number) => {
    for (let i = 0; running; i++) {
      const session = sessionBase + w * 100_000 + i;
      const user = users[(w * 7 + i) % users.length];
      const track = catalog.tracks[(w * 131 + i * 17) % catalog.tracks.length].id;
      const at = Date.now();
      const answer = await post("/v1/predict", {
        user_id: user,
        track_id: track,
        session: { session_id: session },
        timestamp_ms: at,
      });
      if (answer?.status === 200) counts.decisions.push((answer.body as { decision_id: string }).decision_id);
      const event = {
        session_id: session,
        timestamp: at,
        user_id: user,
        track_id: track,
        event_type: "play",
      };
      const sent = await post("/v1/events", { events: [event] });
      if (sent?.status === 200) counts.events.push(`${session}|${at}`);
    }
  };
  const done = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  return {
    counts,
    async stop(): Promise<LoadCounts> {
      running = false;
      await done;
      return counts;
    },
  };
}

/** Acknowledged decisions and events missing from PostgreSQL, and rows there nobody was told about. */
async function audit(pgUrl: string, counts: LoadCounts) {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    const decisions = await client.query<{ id: string }>(
      "SELECT id FROM decisions WHERE id = ANY($1::text[])",
      [counts.decisions],
    );
    const events = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM learned l JOIN unnest($1::text[]) AS k(key)
         ON l.session_id::text || '|' || l.event_ms::bigint::text = k.key WHERE l.kind = 0`,
      [counts.events],
    );
    return {
      decisionsLost: counts.decisions.length - decisions.rows.length,
      eventsLost: counts.events.length - Number(events.rows[0].n),
    };
  } finally {
    await client.end();
  }
}

const faultRows: string[] = [];

function report(name: string, counts: LoadCounts, lost: { decisionsLost: number; eventsLost: number }) {
  const status = [...counts.status].map(([s, n]) => `${s}: ${n}`).join(", ");
  faultRows.push(
    `${name.padEnd(40)} sent ${String(counts.sent).padStart(6)}  acknowledged decisions ${String(counts.decisions.length).padStart(5)}, events ${String(counts.events.length).padStart(5)}  lost ${lost.decisionsLost} + ${lost.eventsLost}  (${status})`,
  );
}

describe.skipIf(skip)("replicas on Redis + PostgreSQL behind nginx (real servers)", () => {
  let work: string;
  let bundle: string;
  let catalog: Catalog;
  let redis: RedisServer;
  let postgres: PostgresServer;
  let nginx: Nginx;
  const replicas: Replica[] = [];
  let embedded: Replica;

  const startReplica = (db: string, extra: string[]) =>
    startServer(bundle, DATA, db, extra).then(({ child, url }) => ({ child, url }));

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "skipwise-replicas-"));
    bundle = join(work, "bundle");
    [redis, postgres] = await Promise.all([
      startRedis({ appendonly: true, appendfsync: "always" }),
      startPostgres(),
    ]);
    await runTrainCommand({ data: DATA, out: bundle, models: "naive,majority,logistic,gbdt", stdout: quiet });
    catalog = (await loadDelivery(DATA)).catalog;
    await runStateLoadCommand({ bundle, data: DATA, redis: redis.url });
    const shared = ["--redis", redis.url];
    const started = await Promise.all([
      startReplica(postgres.url, shared),
      startReplica(postgres.url, shared),
      startReplica(postgres.url, shared),
      startReplica(join(work, "embedded.db"), []),
    ]);
    replicas.push(...started.slice(0, 3));
    embedded = started[3];
    nginx = await startNginx({ upstreams: replicas.map((r) => new URL(r.url).host) });
  }, 240_000);

  afterAll(async () => {
    for (const r of [...replicas, embedded]) {
      if (!r) continue;
      const gone = exited(r.child);
      r.child.kill("SIGKILL");
      await gone;
    }
    await nginx?.stop();
    await redis?.stop();
    await postgres?.stop();
    if (faultRows.length > 0)
      console.log(`\nscale-out faults (counted in PostgreSQL):\n${faultRows.join("\n")}`);
    rmSync(work, { recursive: true, force: true });
  });

  it("a random spread over 3 replicas answers the test period exactly as one embedded process", async () => {
    const delivery = await loadDelivery(DATA);
    const one = new ServiceClient(embedded.url, { maxSockets: 1 });
    const three = replicas.map((r) => new ServiceClient(r.url, { maxSockets: 1 }));
    try {
      const alone = await checkParity({ client: one, delivery, bundleDir: bundle });
      const spread = await checkParity({ client: three, delivery, bundleDir: bundle, seed: 7 });
      expect(alone.listens).toBe(2046);
      expect(alone.mismatchedListens).toBe(0);
      expect(spread.mismatchedListens).toBe(0);
      expect(spread.answerDigest).toBe(alone.answerDigest);
      expect(spread.requestsPerService).toHaveLength(3);
      for (const n of spread.requestsPerService) expect(n).toBeGreaterThan(500);
      // Every decision of the spread replay is in PostgreSQL, once.
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      const rows = await client.query<{ n: string; ids: string }>(
        "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM decisions",
      );
      await client.end();
      expect(Number(rows.rows[0].n)).toBe(spread.listens * spread.models.length);
      expect(Number(rows.rows[0].ids)).toBe(Number(rows.rows[0].n));
    } finally {
      one.close();
      for (const c of three) c.close();
    }
  }, 300_000);

  it("feedback for one decision sent to two replicas at once is recorded once", async () => {
    const user = [...catalog.users.keys()][0];
    const predict = await fetch(`${replicas[0].url}/v1/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_id: user, track_id: catalog.tracks[5].id }),
    });
    const { decision_id } = (await predict.json()) as { decision_id: string };
    const feedback = (url: string) =>
      fetch(`${url}/v1/feedback`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ decision_id, outcome: "skipped" }),
      }).then((r) => r.status);
    const statuses = await Promise.all([feedback(replicas[1].url), feedback(replicas[2].url)]);
    expect(statuses.sort()).toEqual([200, 409]);
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    const rows = await client.query("SELECT 1 FROM feedback WHERE decision_id = $1", [decision_id]);
    await client.end();
    expect(rows.rowCount).toBe(1);
  });

  it("kill -9 of one replica under load: the others keep answering, nothing acknowledged is lost", async () => {
    const traffic = load(nginx.url, catalog, 8, 50_000_000);
    await until("traffic", async () => traffic.counts.decisions.length >= 200);
    const victim = replicas[1];
    const gone = exited(victim.child);
    victim.child.kill("SIGKILL");
    await gone;
    const atKill = traffic.counts.decisions.length;
    await until("traffic after the kill", async () => traffic.counts.decisions.length >= atKill + 400);
    const counts = await traffic.stop();
    const lost = await audit(postgres.url, counts);
    report("kill -9 one of 3 replicas", counts, lost);
    expect(lost).toEqual({ decisionsLost: 0, eventsLost: 0 });
    expect(counts.status.get(500) ?? 0).toBe(0);
    expect(counts.status.get("timeout") ?? 0).toBe(0);
    // The survivors answer directly too.
    for (const r of [replicas[0], replicas[2]]) expect((await fetch(`${r.url}/health`)).status).toBe(200);
    replicas.splice(1, 1);
  }, 120_000);

  it("kill -9 of Redis (AOF, fsync always): the state is intact and replicas recover by themselves", async () => {
    const admin = connectRedis(redis.url);
    await admin.connect();
    const before = await exportSnapshotFromRedis(admin, catalog);
    admin.disconnect();
    await redis.kill9();
    await redis.start();
    const again = connectRedis(redis.url);
    await again.connect();
    const after = await exportSnapshotFromRedis(again, catalog);
    again.disconnect();
    expect(after.snapshot.equals(before.snapshot)).toBe(true);
    const traffic = load(nginx.url, catalog, 4, 60_000_000);
    await until("answers after the Redis restart", async () => traffic.counts.decisions.length >= 100);
    const counts = await traffic.stop();
    const lost = await audit(postgres.url, counts);
    report("kill -9 Redis, restart (AOF)", counts, lost);
    expect(lost).toEqual({ decisionsLost: 0, eventsLost: 0 });
    expect(counts.status.get(500) ?? 0).toBe(0);
  }, 120_000);

  it("PostgreSQL stopped for 5 s under load: 503 on writes, recovery by itself, nothing half-written", async () => {
    const traffic = load(nginx.url, catalog, 8, 70_000_000);
    await until("traffic", async () => traffic.counts.decisions.length >= 200);
    await postgres.pause();
    await until("a 503", async () => (traffic.counts.status.get(503) ?? 0) > 0);
    const stoppedAt = Date.now();
    // The scenario: five seconds without PostgreSQL (a duration to simulate, not a wait for an event).
    await new Promise((r) => setTimeout(r, Math.max(0, 5_000 - (Date.now() - stoppedAt))));
    await postgres.resume();
    const atResume = traffic.counts.decisions.length;
    await until(
      "answers after PostgreSQL is back",
      async () => traffic.counts.decisions.length >= atResume + 200,
    );
    const counts = await traffic.stop();
    const lost = await audit(postgres.url, counts);
    report("PostgreSQL stopped 5 s", counts, lost);
    expect(lost).toEqual({ decisionsLost: 0, eventsLost: 0 });
    expect(counts.status.get(503) ?? 0).toBeGreaterThan(0);
    expect(counts.status.get(500) ?? 0).toBe(0);
    expect(counts.status.get("timeout") ?? 0).toBe(0);
    // Nothing half-written: every decision row in PostgreSQL from this load was acknowledged, or was in flight
    // when the connection dropped (committed, answer lost) — at most one batch per writer.
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    const orphans = await client.query(
      "SELECT count(*) AS n FROM decisions d WHERE d.session_id >= 70000000 AND NOT (d.id = ANY($1::text[]))",
      [counts.decisions],
    );
    await client.end();
    faultRows.push(
      `${"".padEnd(40)} committed but unacknowledged (in doubt at the stop): ${orphans.rows[0].n}`,
    );
    expect(Number(orphans.rows[0].n)).toBeLessThanOrEqual(64);
  }, 120_000);
});
