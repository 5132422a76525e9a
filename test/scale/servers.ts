// Throw-away Redis and PostgreSQL servers for the scale-out tests and benches: each in its own temp folder
// on a free port, never the system services; waits for readiness by polling, for exit by the exit event.
// PostgreSQL refuses to run as root: as root (CI) its programs run as the `postgres` user.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Binaries the scale tests need, by server. */
const PG_ROOT = "/usr/lib/postgresql";

export function postgresBin(): string | null {
  if (!existsSync(PG_ROOT)) return null;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(join(PG_ROOT, v, "bin", "postgres")))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(PG_ROOT, versions[0], "bin") : null;
}

function onPath(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the scale tests can run: true = skip them (servers missing, outside CI). Under CI=true a missing
 * server is an error, not a skip: CI installs them (.ci/run).
 */
export function scaleServersOrSkip(needs: readonly ("redis" | "postgres" | "nginx")[]): boolean {
  const missing = needs.filter((n) =>
    n === "redis" ? !onPath("redis-server") : n === "postgres" ? postgresBin() === null : !onPath("nginx"),
  );
  if (missing.length === 0) return false;
  const message = `scale tests need ${missing.join(", ")} (Debian packages redis-server, postgresql, nginx; .ci/run installs them)`;
  if (process.env.CI) throw new Error(message);
  console.warn(`skipped: ${message}`);
  return true;
}

/** A free TCP port on 127.0.0.1 (bound, read back, released). */
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

/** Resolves once something accepts connections on the port (polls until `timeoutMs`). */
export async function waitForPort(port: number, timeoutMs = 20_000, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null)
      throw new Error(`process exited (${child.exitCode}) before port ${port} opened`);
    const open = await new Promise<boolean>((done) => {
      const socket = new Socket();
      socket.once("connect", () => {
        socket.destroy();
        done(true);
      });
      socket.once("error", () => done(false));
      socket.connect(port, "127.0.0.1");
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits for a child to exit (resolves at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once("exit", () => done()));
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** Clean shutdown (SIGTERM: Redis flushes the AOF and exits). */
  stop(): Promise<void>;
  /** kill -9: a crash; with AOF `appendfsync always` nothing acknowledged is lost. */
  kill9(): Promise<void>;
  /** Starts it again on the same port and folder (after stop or kill9). */
  start(): Promise<void>;
}

export async function startRedis(
  options: { appendonly?: boolean; appendfsync?: "always" | "everysec" | "no" } = {},
): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "skipwise-redis-"));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    options.appendonly ? "yes" : "no",
    "--appendfsync",
    options.appendfsync ?? "everysec",
    "--protected-mode",
    "no",
  ];
  const start = async () => {
    const c = spawn("redis-server", args, { stdio: "ignore" });
    child = c;
    await waitForPort(port, 20_000, c);
  };
  await start();
  const stopWith = async (signal: NodeJS.Signals) => {
    const c = child;
    if (!c) return;
    child = null;
    const done = exited(c);
    c.kill(signal);
    await done;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    start,
    kill9: () => stopWith("SIGKILL"),
    async stop() {
      await stopWith("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PostgresServer {
  url: string;
  port: number;
  dataDir: string;
  /** `pg_ctl stop -m fast` (connections are closed, in-flight transactions rolled back). */
  pause(): Promise<void>;
  /** Starts it again after `pause` on the same folder and port. */
  resume(): Promise<void>;
  /** Stops it and removes its folder. */
  stop(): Promise<void>;
}

const asRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** Runs a PostgreSQL program, as the `postgres` user when this process is root. */
function pgRun(bin: string, program: string, args: string[]): void {
  const path = join(bin, program);
  if (asRoot) execFileSync("runuser", ["-u", "postgres", "--", path, ...args], { stdio: "pipe" });
  else execFileSync(path, args, { stdio: "pipe" });
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBin();
  if (!bin) throw new Error("PostgreSQL is not installed (Debian package postgresql)");
  const root = mkdtempSync(join(tmpdir(), "skipwise-pg-"));
  chmodSync(root, 0o755);
  const dataDir = join(root, "data");
  const socketDir = root;
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(root, uid, gid);
  }
  pgRun(bin, "initdb", ["-D", dataDir, "-U", "skipwise", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  const options = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=64MB`;
  const logFile = join(root, "log");
  const start = async () => {
    pgRun(bin, "pg_ctl", ["-D", dataDir, "-o", options, "-l", logFile, "-w", "-t", "60", "start"]);
    await waitForPort(port);
  };
  await start();
  pgRun(bin, "createdb", ["-h", socketDir, "-p", String(port), "-U", "skipwise", "skipwise"]);
  let running = true;
  const pause = async () => {
    if (!running) return;
    pgRun(bin, "pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"]);
    running = false;
  };
  return {
    url: `postgres://skipwise@127.0.0.1:${port}/skipwise`,
    port,
    dataDir,
    pause,
    async resume() {
      if (running) return;
      await start();
      running = true;
    },
    async stop() {
      try {
        await pause();
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
