// A throw-away nginx in front of upstream replicas, rendered from the shipped template (deploy/nginx.conf) by
// the shipped renderer (deploy/render-nginx.sh), so the tests prove the stacks' own retry rules. Everything it writes (config, pid, logs, temp files) is in a
// temp prefix folder; it runs in the foreground as a child (`daemon off;`), on a free port, ready once it
// answers; `stop()` ends it and removes the folder.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { exited, freePort } from "./servers.ts";

const TEMPLATE = resolve(import.meta.dirname, "../../deploy/nginx.conf");
const RENDER = resolve(import.meta.dirname, "../../deploy/render-nginx.sh");

/** The nginx binary: Debian's /usr/sbin/nginx (not on a non-root PATH), else one on PATH; null when absent. */
export function nginxBin(): string | null {
  for (const candidate of ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]) {
    if (existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync("sh", ["-c", "command -v nginx"], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

export interface NginxTemplateValues {
  temp: string;
  logs: string;
  listen: string;
  status: string;
  workers?: number | "auto";
  /** host:port of each replica. */
  upstreams: readonly string[];
  /** Extra parameters of every `server` line (e.g. `resolve`). */
  serverParams?: string;
  resolver?: string;
  /** Requests per second per client; 0 = unlimited. */
  ratePerSecond?: number;
  version: string;
}

/** deploy/nginx.conf rendered by deploy/render-nginx.sh, the renderer the stacks use. */
export function renderNginxConfig(values: NginxTemplateValues): string {
  if (values.upstreams.length === 0) throw new Error("nginx needs at least one upstream");
  return execFileSync("sh", [RENDER, TEMPLATE], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH,
      NGINX_TEMP: values.temp,
      NGINX_LOGS: values.logs,
      NGINX_LISTEN: values.listen,
      NGINX_STATUS: values.status,
      NGINX_WORKERS: String(values.workers ?? 1),
      NGINX_UPSTREAMS: values.upstreams.join(" "),
      NGINX_SERVER_PARAMS: values.serverParams ?? "",
      NGINX_RESOLVER: values.resolver ?? "",
      NGINX_RATE_LIMIT: String(values.ratePerSecond ?? 0),
      NGINX_VERSION: values.version,
    },
  });
}

export interface Nginx {
  url: string;
  port: number;
  /** Internal status server: /nginx_status (stub_status), /config_version. */
  statusUrl: string;
  prefix: string;
  child: ChildProcess;
  /** Lines of access.log, one per request (upstream= lists every replica tried, in order). */
  accessLog(): string[];
  /** Rewrites the config with these upstreams, checks it, reloads (SIGHUP) and waits until it is live. */
  reload(upstreams: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

export interface StartNginxOptions {
  upstreams: readonly string[];
  /** Requests per second per client IP; default 0 = unlimited (tests and benches send from one address). */
  ratePerSecond?: number;
  workers?: number | "auto";
  /** Longest wait for nginx to answer, ms. */
  timeoutMs?: number;
}

const asRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** One GET on a fresh connection (no keep-alive: after a reload, an old worker's connection reads old config). */
function getOnce(url: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request(url, { agent: false, headers: { connection: "close" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => done({ status: res.statusCode ?? 0, body }));
      res.on("error", fail);
    });
    req.on("error", fail);
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${url}: no answer within 5 s`)));
    req.end();
  });
}

/** Polls until the status server answers this config version on a fresh connection. */
async function waitForVersion(statusUrl: string, version: string, child: ChildProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`nginx exited (${child.exitCode ?? child.signalCode}) ${last}`);
    try {
      const answer = await getOnce(`${statusUrl}/config_version`);
      if (answer.status === 200 && answer.body.trim() === version) return;
      last = `(config version ${answer.body.trim()}, waiting for ${version})`;
    } catch (error) {
      last = `(${(error as Error).message})`;
    }
    if (Date.now() > deadline)
      throw new Error(`nginx did not serve config ${version} in ${timeoutMs} ms ${last}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startNginx(options: StartNginxOptions): Promise<Nginx> {
  const bin = nginxBin();
  if (!bin) throw new Error("nginx is not installed (Debian package nginx)");
  const timeoutMs = options.timeoutMs ?? 20_000;
  const prefix = mkdtempSync(join(tmpdir(), "skipwise-nginx-"));
  const conf = join(prefix, "nginx.conf");
  // `user root;` as root: otherwise the workers run as nobody, who cannot enter the private temp folder.
  const globals = `daemon off; master_process on;${asRoot ? " user root;" : ""}`;
  const args = ["-p", prefix, "-c", conf, "-e", join(prefix, "error.log"), "-g", globals];
  let generation = 0;
  let port = 0;
  let statusPort = 0;
  const write = (upstreams: readonly string[]) => {
    generation++;
    const text = renderNginxConfig({
      temp: prefix,
      logs: prefix,
      listen: `127.0.0.1:${port}`,
      status: `127.0.0.1:${statusPort}`,
      upstreams,
      ratePerSecond: options.ratePerSecond,
      workers: options.workers,
      version: String(generation),
    });
    writeFileSync(conf, text);
    // A bad config would leave a reload silently on the old one: check it first, with nginx's message.
    try {
      execFileSync(bin, [...args, "-t", "-q"], { stdio: "pipe" });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? "";
      throw new Error(`nginx -t refused ${conf}: ${stderr || (error as Error).message}`);
    }
  };

  let child: ChildProcess | undefined;
  let stderr = "";
  try {
    // A free port can be taken between the probe and nginx's bind: try again with new ports.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      statusPort = await freePort();
      write(options.upstreams);
      stderr = "";
      const c = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
      child = c;
      c.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      try {
        await waitForVersion(`http://127.0.0.1:${statusPort}`, String(generation), c, timeoutMs);
        break;
      } catch (error) {
        if (c.exitCode === null && c.signalCode === null) {
          const done = exited(c);
          c.kill("SIGKILL");
          await done;
        }
        const log = `${stderr}${readLog(join(prefix, "error.log"))}`;
        if (attempt < 3 && /Address already in use/.test(log)) continue;
        throw new Error(`${(error as Error).message}\n${log}`);
      }
    }
  } catch (error) {
    rmSync(prefix, { recursive: true, force: true });
    throw error;
  }
  const running = child as ChildProcess;
  const statusUrl = `http://127.0.0.1:${statusPort}`;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    statusUrl,
    prefix,
    child: running,
    accessLog: () =>
      readLog(join(prefix, "access.log"))
        .split("\n")
        .filter((l) => l !== ""),
    async reload(upstreams) {
      const pid = running.pid as number;
      const before = childrenOf(pid);
      write(upstreams);
      running.kill("SIGHUP");
      await waitForVersion(statusUrl, String(generation), running, timeoutMs);
      // New workers answer the new version while the old ones may still accept on the shared listening
      // sockets: the reload is complete once every old worker has exited.
      const deadline = Date.now() + timeoutMs;
      while (childrenOf(pid).some((p) => before.includes(p))) {
        if (Date.now() > deadline) throw new Error(`nginx's old workers did not exit in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() {
      try {
        if (running.exitCode === null && running.signalCode === null) {
          const done = exited(running);
          // SIGTERM: fast shutdown, the master waits for its workers before it exits.
          running.kill("SIGTERM");
          const timer = setTimeout(() => running.kill("SIGKILL"), 10_000);
          await done;
          clearTimeout(timer);
        }
      } finally {
        rmSync(prefix, { recursive: true, force: true });
      }
    },
  };
}

/** Pids of a process's children (its nginx workers), from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === pid) out.push(Number(entry));
  }
  return out;
}

function readLog(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
