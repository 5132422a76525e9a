// deploy/docker-compose.replicas.yml as a structure (no Docker engine here): the services of the scale-out
// stack with pinned images; only nginx, Prometheus and Grafana published, on 127.0.0.1 by default; every
// replica pointed at the compose Redis and PostgreSQL (its shell command run here, with temp secret files,
// to read the URLs it builds) and started after the state load; nginx's upstreams and Prometheus' targets
// are exactly the replicas; Redis keeps an AOF; every secret comes from a file make-secrets.sh writes.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO } from "../observability/service.ts";

const DEPLOY = resolve(REPO, "deploy");
const text = readFileSync(join(DEPLOY, "docker-compose.replicas.yml"), "utf8");
// Compose resolves YAML merge keys (<<: *replica); so does this parse.
const compose = parse(text, { merge: true });
const single = parse(readFileSync(join(DEPLOY, "docker-compose.yml"), "utf8"));
const prometheus = parse(readFileSync(join(DEPLOY, "prometheus.replicas.yml"), "utf8"));

interface Service {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  secrets?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  extends?: { file: string; service: string };
}
const services = compose.services as Record<string, Service>;
const REPLICAS = Object.keys(services).filter((name) => /^skipwise-\d+$/.test(name));

/** A port published on 127.0.0.1 unless SKIPWISE_BIND says otherwise. */
const published = (port: number) => `\${SKIPWISE_BIND:-127.0.0.1}:${port}:${port}`;

/** Compose's `${VAR:-default}` with VAR unset, and `$$` as a literal `$`. */
const interpolate = (s: string, env: Record<string, string> = {}) =>
  s
    .replace(/\$\{(\w+):-([^}]*)\}/g, (_, name: string, fallback: string) => env[name] || fallback)
    .replace(/\$\$/g, "$");

/** Host side → container side of the short-syntax bind mounts (relative to deploy/). */
function mounts(service: Service): Map<string, string> {
  const out = new Map<string, string>();
  for (const volume of service.volumes ?? []) {
    const [source, target] = volume.split(":");
    if (source.startsWith(".")) out.set(resolve(DEPLOY, source), target);
  }
  return out;
}

describe("deploy/docker-compose.replicas.yml", () => {
  const work = mkdtempSync(join(tmpdir(), "skipwise-compose-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("runs Redis, PostgreSQL, the state load, three replicas, nginx, its exporter, Prometheus and Grafana", () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        "grafana",
        "nginx",
        "nginx-exporter",
        "postgres",
        "prometheus",
        "redis",
        "skipwise-1",
        "skipwise-2",
        "skipwise-3",
        "skipwise-init",
      ].sort(),
    );
    expect(compose.name).not.toBe(single.name); // its own volumes, next to the single stack's
    for (const [name, service] of Object.entries(services)) {
      if (service.extends) continue;
      if (name.startsWith("skipwise")) expect(service.image).toBe(single.services.skipwise.image);
      // Pinned to a release (PostgreSQL's releases are major.minor).
      else expect(service.image, name).toMatch(/:v?\d+\.\d+(\.\d+)?$/);
    }
    expect(services.postgres.image).toMatch(/^postgres:15\./);
    // `resolve` on upstream servers needs nginx 1.27.3 or later.
    const [major, minor, patch] = (services.nginx.image as string).split(":")[1].split(".").map(Number);
    expect(major * 1e6 + minor * 1e3 + patch).toBeGreaterThanOrEqual(1_027_003);
  });

  it("publishes only nginx, Prometheus and Grafana, on 127.0.0.1 unless SKIPWISE_BIND says otherwise", () => {
    const publishing = Object.entries(services)
      .filter(([, s]) => (s.ports ?? []).length > 0)
      .map(([name]) => name);
    expect(publishing.sort()).toEqual(["nginx", "prometheus"]);
    expect(services.nginx.ports).toEqual([published(8000)]);
    expect(services.prometheus.ports).toEqual([published(9090)]);
    // Grafana comes from the single stack, with its published port and its secret-file password.
    expect(services.grafana.extends).toEqual({ file: "docker-compose.yml", service: "grafana" });
    expect(single.services.grafana.ports).toEqual([published(3000)]);
    for (const secret of single.services.grafana.secrets as string[])
      expect(compose.secrets[secret]).toBeDefined();
  });

  it("points every replica at the compose Redis and PostgreSQL, after the state load, without its own rate limit", () => {
    expect(REPLICAS).toEqual(["skipwise-1", "skipwise-2", "skipwise-3"]);
    const pgEnv = services.postgres.environment ?? {};
    for (const name of REPLICAS) {
      const s = services[name];
      const env = s.environment ?? {};
      expect(env.SKIPWISE_HOST).toBe("0.0.0.0");
      expect(env.SKIPWISE_RATE_LIMIT).toBe("0");
      expect(env.SKIPWISE_API_KEY_FILE).toBe("/run/secrets/skipwise_api_key");
      expect(env.SKIPWISE_DB).toBeUndefined(); // built from the password file by the command
      expect(s.depends_on).toEqual({
        "skipwise-init": { condition: "service_completed_successfully" },
        redis: { condition: "service_healthy" },
        postgres: { condition: "service_healthy" },
      });
      expect(mounts(s).get(REPO)).toBe("/app");
      const script = interpolate((s.command as string[])[2]);
      expect(script).toMatch(/exec node bin\/skipwise\.js serve$/);
      expect(script).not.toContain("npm ci"); // once, in skipwise-init: not three at a time on one volume

      // Run the command with the real start replaced: the URLs it exports, from the secret files.
      const secrets = join(work, "secrets");
      execFileSync("sh", [join(DEPLOY, "make-secrets.sh"), secrets], { encoding: "utf8" });
      const files = {
        SKIPWISE_API_KEY_FILE: join(secrets, "skipwise_api_key"),
        REDIS_PASSWORD_FILE: join(secrets, "redis_password"),
        POSTGRES_PASSWORD_FILE: join(secrets, "postgres_password"),
      };
      const probe = script.replace(
        /exec node bin\/skipwise\.js serve$/,
        'echo "$SKIPWISE_REDIS $SKIPWISE_DB"',
      );
      const r = spawnSync("sh", ["-c", probe], {
        env: { PATH: process.env.PATH, ...files },
        encoding: "utf8",
      });
      expect(r.status, r.stderr).toBe(0);
      const password = (f: string) => readFileSync(f, "utf8").trim();
      expect(r.stdout.trim()).toBe(
        `redis://:${password(files.REDIS_PASSWORD_FILE)}@redis:6379 ` +
          `postgres://${pgEnv.POSTGRES_USER}:${password(files.POSTGRES_PASSWORD_FILE)}@postgres:5432/${pgEnv.POSTGRES_DB}`,
      );
      // A missing secret stops it, naming the file.
      const missing = spawnSync("sh", ["-c", probe], {
        env: { PATH: process.env.PATH, ...files, POSTGRES_PASSWORD_FILE: join(work, "none") },
        encoding: "utf8",
      });
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain(
        `${join(work, "none")} is missing or empty: run deploy/make-secrets.sh`,
      );
    }
  });

  it("loads the state once, before the replicas, keeping a state Redis already holds", () => {
    const init = services["skipwise-init"];
    const script = interpolate((init.command as string[])[2]);
    expect(script).toContain("npm ci");
    expect(script).toMatch(
      /node bin\/skipwise\.js state load --bundle "\$SKIPWISE_BUNDLE" --data "\$SKIPWISE_DATA"/,
    );
    expect(script).toContain('--redis "redis://:$pw@redis:6379"');
    expect(script).toContain("already holds feature state");
    expect(init.depends_on).toEqual({ redis: { condition: "service_healthy" } });
    expect((init as { restart?: string }).restart).toBe("no");
  });

  it("keeps Redis' state in an append-only file, fsynced on every write, password from a file", () => {
    const entry = interpolate((services.redis.entrypoint as string[])[2]);
    expect(entry).toMatch(/--appendonly yes --appendfsync always/);
    expect(entry).toContain("/run/secrets/redis_password");
    expect(entry).not.toMatch(/--requirepass/); // not in argv
    expect(services.redis.volumes).toContain("redis-data:/data");
    expect(services.postgres.volumes).toContain("postgres-data:/var/lib/postgresql/data");
    expect(services.postgres.environment?.POSTGRES_PASSWORD_FILE).toBe("/run/secrets/postgres_password");
  });

  it("has nginx balance exactly the replicas, rendered from the shipped template by the shipped renderer", () => {
    const env = services.nginx.environment ?? {};
    const port = services["skipwise-1"].environment?.SKIPWISE_PORT;
    expect(env.NGINX_UPSTREAMS.split(" ")).toEqual(REPLICAS.map((r) => `${r}:${port}`));
    const m = mounts(services.nginx);
    expect(m.get(join(DEPLOY, "nginx.conf"))).toBe("/etc/skipwise/nginx.conf");
    expect(m.get(join(DEPLOY, "render-nginx.sh"))).toBe("/etc/skipwise/render-nginx.sh");
    expect(interpolate((services.nginx.entrypoint as string[])[2])).toContain(
      "sh /etc/skipwise/render-nginx.sh /etc/skipwise/nginx.conf > /etc/nginx/skipwise.conf",
    );
    const rendered = execFileSync("sh", [join(DEPLOY, "render-nginx.sh"), join(DEPLOY, "nginx.conf")], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, ...env, NGINX_RATE_LIMIT: interpolate(env.NGINX_RATE_LIMIT) },
    });
    for (const replica of REPLICAS)
      expect(rendered).toContain(`server ${replica}:${port} max_fails=1 fail_timeout=2s resolve;`);
    expect(rendered).toContain("resolver 127.0.0.11 valid=10s ipv6=off;");
    expect(rendered).toMatch(/listen 8000;/);
    expect(rendered).toMatch(/listen 8081;/);
    expect(rendered).toContain("limit_req zone=per_client burst=2000 nodelay;");
    expect(rendered).not.toMatch(/^[^#]*@@/m);
    expect(services["nginx-exporter"].command).toEqual(["--nginx.scrape-uri=http://nginx:8081/nginx_status"]);
  });

  it("has Prometheus scrape every replica as its own target, with the shipped rules", () => {
    const m = mounts(services.prometheus);
    const configTarget = m.get(join(DEPLOY, "prometheus.replicas.yml")) as string;
    expect(services.prometheus.command).toContain(`--config.file=${configTarget}`);
    for (const rules of prometheus.rule_files as string[])
      expect(m.get(join(DEPLOY, rules)), rules).toBe(resolve(configTarget, "..", rules));
    const jobs = prometheus.scrape_configs as { job_name: string; static_configs: { targets: string[] }[] }[];
    const skipwise = jobs.find((j) => j.job_name === "skipwise");
    const port = services["skipwise-1"].environment?.SKIPWISE_PORT;
    expect(skipwise?.static_configs.flatMap((c) => c.targets)).toEqual(REPLICAS.map((r) => `${r}:${port}`));
    expect(jobs.find((j) => j.job_name === "nginx")?.static_configs[0].targets).toEqual([
      "nginx-exporter:9113",
    ]);
  });

  it("takes every secret from a file make-secrets.sh writes; no literal key or password anywhere", () => {
    const secrets = join(work, "all-secrets");
    execFileSync("sh", [join(DEPLOY, "make-secrets.sh"), secrets], { encoding: "utf8" });
    for (const [name, declared] of Object.entries(compose.secrets as Record<string, { file: string }>)) {
      expect(declared.file).toBe(`./secrets/${name}`);
      expect(existsSync(join(secrets, name)), name).toBe(true);
    }
    for (const [name, service] of Object.entries(services)) {
      for (const secret of service.secrets ?? [])
        expect(compose.secrets[secret], `${name} ${secret}`).toBeDefined();
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        if (/KEY|PASSWORD|SECRET|TOKEN/.test(variable))
          expect(value, `${name} ${variable}`).toMatch(/^\/run\/secrets\/\w+$/);
      }
    }
    expect(text).not.toMatch(/change-?me|:-[^}\n]*(key|secret|password)/i);
  });

  it("mounts files and folders that exist", () => {
    for (const service of Object.values(services))
      for (const source of mounts(service).keys()) expect(existsSync(source), source).toBe(true);
  });
});
