// Throw-away Redis and PostgreSQL servers for the scale-out tests and benches: each in its own temp folder
// on a free port, never the system services; waits for readiness by polling, for exit by the exit event.
// PostgreSQL refuses to run as root: as root (CI) its programs run as the `postgres` user.
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
} from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../observability/service.ts";

export { freePort };

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
  /** Starts it again on the same port and folder (after kill9). */
  start(): Promise<void>;
  /** Clean shutdown then start again on the same port and folder (with AOF on, the state is read back). */
  restart(): Promise<void>;
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
    async restart() {
      await stopWith("SIGTERM");
      await start();
    },
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
  /** Starts it again after `pause` or `kill9` on the same folder and port. */
  resume(): Promise<void>;
  /** `pause` then `resume`. */
  restart(): Promise<void>;
  /**
   * A crash: SIGKILL to the postmaster and every backend at once (no shutdown checkpoint, no goodbye to
   * clients); resolves once they are all gone. `resume` then runs crash recovery from the WAL.
   */
  kill9(): Promise<void>;
  /** Stops it and removes its folder. */
  stop(): Promise<void>;
}

const asRoot = typeof process.getuid === "function" && process.getuid() === 0;

/**
 * Runs a PostgreSQL program, as the `postgres` user when this process is root; asynchronous, so clients of
 * the server keep running while it starts or stops (a stop under load is a test case).
 */
function pgRun(bin: string, program: string, args: string[]): Promise<void> {
  const path = join(bin, program);
  const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", path, ...args]] : [path, args];
  return new Promise((done, fail) => {
    execFile(file, argv, (error, _stdout, stderr) => {
      if (error)
        fail(new Error(`${program} ${args.join(" ")}: ${error.message}${stderr ? `\n${stderr}` : ""}`));
      else done();
    });
  });
}

/** Pids of the processes whose working directory is `dir` (from /proc; PostgreSQL's run in their data folder). */
function processesIn(dir: string): number[] {
  const real = realpathSync(dir);
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(join("/proc", name, "cwd")) === real && !gone(Number(name))) pids.push(Number(name));
    } catch {
      // Exited meanwhile, or not ours to read.
    }
  }
  return pids;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** Whether a process is gone (no longer exists, or a zombie nobody has reaped yet). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(join("/proc", String(pid), "stat"), "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** Polls `condition` until it holds; throws after `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
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
  await pgRun(bin, "initdb", [
    "-D",
    dataDir,
    "-U",
    "skipwise",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-sync",
  ]).catch((error: Error) => {
    rmSync(root, { recursive: true, force: true });
    throw error;
  });
  const port = await freePort();
  const options = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=64MB`;
  const logFile = join(root, "log");
  const start = async () => {
    await pgRun(bin, "pg_ctl", [
      "-D",
      dataDir,
      "-o",
      options,
      "-l",
      logFile,
      "-w",
      "-t",
      "60",
      "start",
    ]).catch((error: Error) => {
      const log = existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n") : "";
      throw new Error(`${error.message}\nserver log (end):\n${log}`);
    });
    await waitForPort(port);
  };
  try {
    await start();
    await pgRun(bin, "createdb", ["-h", socketDir, "-p", String(port), "-U", "skipwise", "skipwise"]);
  } catch (error) {
    // Half started: leave no server or folder behind.
    await pgRun(bin, "pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  let running = true;
  const pause = async () => {
    if (!running) return;
    await pgRun(bin, "pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"]);
    running = false;
  };
  const resume = async () => {
    if (running) return;
    await start();
    running = true;
  };
  const kill9 = async () => {
    if (!running) return;
    // Frozen first, so it forks no backend while they are being killed; every process of the server (the
    // postmaster and its children all run in the data folder) then gets SIGKILL.
    const postmaster = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    signal(postmaster, "SIGSTOP");
    const all = processesIn(dataDir);
    for (const pid of all) signal(pid, "SIGKILL");
    running = false;
    await waitFor(
      `PostgreSQL processes ${all.join(", ")} to exit after SIGKILL`,
      () => all.every(gone) && processesIn(dataDir).length === 0,
    );
    // A killed postmaster can stay a zombie until its new parent reaps it, and PostgreSQL reads a lock file
    // naming a pid that still exists as "another server is running": the lock files go, as after a power cut.
    rmSync(join(dataDir, "postmaster.pid"), { force: true });
    rmSync(join(socketDir, `.s.PGSQL.${port}.lock`), { force: true });
  };
  return {
    url: `postgres://skipwise@127.0.0.1:${port}/skipwise`,
    port,
    dataDir,
    pause,
    resume,
    async restart() {
      await pause();
      await resume();
    },
    kill9,
    async stop() {
      try {
        await pause();
      } catch {
        // Would not stop (a test froze or broke it): killed instead, so nothing outlives the tests.
        await kill9().catch(() => undefined);
      } finally {
        for (const pid of existsSync(dataDir) ? processesIn(dataDir) : []) signal(pid, "SIGKILL");
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
