// deploy/replicas.sh end to end with the real servers: `start` runs Redis, PostgreSQL, the state load, three
// replicas and nginx under a temp state folder on free ports; requests through nginx reach every replica and
// land in the one PostgreSQL log; feedback is idempotent across replicas; each replica's /metrics counts its
// own share; `reload` reloads every replica; `stop` ends every process; a second `start` keeps the decisions
// and the state learned in Redis.
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAndTrain, REPO } from "../observability/service.ts";
import { nginxBin } from "./nginx.ts";
import { scaleServersOrSkip } from "./servers.ts";

const skip = scaleServersOrSkip(nginxBin() === null ? ["redis", "postgres", "nginx"] : ["redis", "postgres"]);
const REPLICAS = 3;
const SCRIPT = join(REPO, "deploy/replicas.sh");

/** Resolves once the port can be bound on 127.0.0.1 (and releases it): false when taken. */
function bindable(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(false));
    server.listen(port, "127.0.0.1", () => server.close(() => done(true)));
  });
}

/** `count` consecutive free ports (the script numbers replicas and nginx's status port from a base). */
async function freeRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    let free = true;
    for (let p = base; p < base + count && free; p++) free = await bindable(p);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

function run(args: string[], timeoutMs = 180_000): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn("bash", [SCRIPT, ...args], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** Sum of a counter's samples in a Prometheus text exposition. */
function counterSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(" ").at(-1));
  }
  return sum;
}

describe.skipIf(skip)("deploy/replicas.sh: the bare-process stack (real Redis, PostgreSQL, nginx)", () => {
  let work: string;
  let state: string;
  let args: string[];
  let url: string;
  let replicaUrls: string[];
  let dbUrl: string;
  let tracks: string[];
  let users: number[];
  const decisionIds: string[] = [];

  const decisionsInLog = async (): Promise<number> => {
    const client = new pg.Client({ connectionString: dbUrl });
    await client.connect();
    try {
      const { rows } = await client.query("select count(*)::int as n from decisions where served = 1");
      return rows[0].n as number;
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "skipwise-replicas-sh-"));
    // As root PostgreSQL runs as the postgres user, who must be able to enter the state folder's parents.
    chmodSync(work, 0o755);
    state = join(work, "state");
    const { delivery, bundle } = generateAndTrain(work, { models: "naive,logistic" });
    tracks = readFileSync(join(delivery, "tracks.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .slice(0, 40)
      .map((l) => JSON.parse(l).id as string);
    users = readFileSync(join(delivery, "users.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l).user_id as number);
    const port = await freeRange(2);
    const replicaPort = await freeRange(REPLICAS);
    const [redisPort, postgresPort] = [await freeRange(1), await freeRange(1)];
    args = [
      "--state",
      state,
      "--bundle",
      bundle,
      "--data",
      delivery,
      "--replicas",
      String(REPLICAS),
      "--port",
      String(port),
      "--replica-port",
      String(replicaPort),
      "--redis-port",
      String(redisPort),
      "--postgres-port",
      String(postgresPort),
      "--timeout",
      "120",
    ];
    const started = await run(["start", ...args]);
    expect(started.code, started.output).toBe(0);
    url = `http://127.0.0.1:${port}`;
    replicaUrls = Array.from({ length: REPLICAS }, (_, i) => `http://127.0.0.1:${replicaPort + i}`);
    expect(started.output).toContain(`service     ${url}`);
    const password = readFileSync(join(state, "secrets/postgres_password"), "utf8").trim();
    dbUrl = `postgres://skipwise:${password}@127.0.0.1:${postgresPort}/skipwise`;
  }, 300_000);

  afterAll(async () => {
    if (state) await run(["stop", "--state", state]);
    if (work) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it("keeps its secrets private and out of every process's arguments", async () => {
    expect(statSync(join(state, "secrets")).mode & 0o777).toBe(0o700);
    const secrets = ["skipwise_api_key", "redis_password", "postgres_password"].map((f) =>
      readFileSync(join(state, "secrets", f), "utf8").trim(),
    );
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        continue;
      }
      for (const secret of secrets) expect(cmdline.includes(secret), `pid ${pid}: ${cmdline}`).toBe(false);
    }
    const status = await run(["status", "--state", state]);
    for (const name of ["redis", "postgres", "nginx", "replica-1", "replica-2", "replica-3"])
      expect(status.output).toMatch(new RegExp(`^${name}: running`, "m"));
  });

  it("spreads predictions over every replica, all logged in the one PostgreSQL", async () => {
    for (let i = 0; i < 30; i++) {
      const answer = await post(`${url}/v1/predict`, {
        user_id: users[i % users.length],
        track_id: tracks[i % tracks.length],
      });
      expect(answer.status, JSON.stringify(answer.json)).toBe(200);
      decisionIds.push(answer.json.decision_id as string);
    }
    expect(new Set(decisionIds).size).toBe(30);
    expect(await decisionsInLog()).toBe(30);
    const log = readFileSync(join(state, "logs/access.log"), "utf8");
    for (const replica of replicaUrls) expect(log).toContain(`upstream=${replica.replace("http://", "")}`);
    // Each replica counts only its own decisions; the three add up (what deploy/rules.yml sums).
    let total = 0;
    for (const replica of replicaUrls) {
      const own = counterSum(await (await fetch(`${replica}/metrics`)).text(), "skipwise_decisions_total");
      expect(own).toBeGreaterThan(0);
      total += own;
    }
    expect(total).toBe(30);
  });

  it("takes each feedback once whichever replica it reaches (a repeat through nginx is 409)", async () => {
    for (const id of decisionIds.slice(0, 6)) {
      const first = await post(`${url}/v1/feedback`, { decision_id: id, outcome: "played" });
      expect(first.status, JSON.stringify(first.json)).toBe(200);
      // The same feedback again, twice: through nginx it reaches the other replicas.
      for (let repeat = 0; repeat < 2; repeat++) {
        const again = await post(`${url}/v1/feedback`, { decision_id: id, outcome: "played" });
        expect(again.status, JSON.stringify(again.json)).toBe(409);
      }
    }
  });

  it("refuses /admin through nginx and reloads every replica with `reload`", async () => {
    const refused = await post(`${url}/admin/reload`, {});
    expect(refused.status).toBe(403);
    const reloaded = await run(["reload", "--state", state]);
    expect(reloaded.code, reloaded.output).toBe(0);
    for (const replica of replicaUrls) expect(reloaded.output).toMatch(new RegExp(`${replica}: 200 `));
  });

  it("stop ends every process; a second start keeps the decisions and the state in Redis", async () => {
    const stopped = await run(["stop", "--state", state]);
    expect(stopped.code, stopped.output).toBe(0);
    const status = await run(["status", "--state", state]);
    expect(status.output).not.toMatch(/: running/);
    await expect(fetch(`${url}/ready`)).rejects.toThrow();

    const again = await run(["start", ...args]);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(/Redis already holds a feature state: kept/);
    expect(await decisionsInLog()).toBe(30);
    const answer = await post(`${url}/v1/predict`, { user_id: users[0], track_id: tracks[0] });
    expect(answer.status).toBe(200);
  });
});
