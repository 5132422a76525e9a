// The deploy/ files agree with each other: compose mounts what exists, Prometheus scrapes the service
// compose runs, Grafana's datasource is the one the dashboard names, and the provider loads the mounted
// dashboards. (Docker cannot run here, so compose is checked as a structure.)
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { resolveServeConfig } from "../../src/serve/config.ts";
import { REPO } from "./service.ts";

const DEPLOY = resolve(REPO, "deploy");
const read = (path: string) => parse(readFileSync(resolve(DEPLOY, path), "utf8"));
const composeText = readFileSync(resolve(DEPLOY, "docker-compose.yml"), "utf8");
const compose = read("docker-compose.yml");
/** Published ports default to loopback; SKIPWISE_BIND overrides the address. */
const published = (port: string) => `\${SKIPWISE_BIND:-127.0.0.1}:${port}:${port}`;
const prometheus = read("prometheus.yml");
const datasources = read("grafana/provisioning/datasources/prometheus.yml");
const providers = read("grafana/provisioning/dashboards/skipwise.yml");
const dashboard = JSON.parse(readFileSync(resolve(DEPLOY, "grafana/dashboards/skipwise.json"), "utf8"));

/** Host side → container side of a compose short-syntax bind mount (relative to deploy/). */
function mounts(service: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const volume of compose.services[service].volumes as string[]) {
    const [source, target] = volume.split(":");
    if (source.startsWith(".")) out.set(resolve(DEPLOY, source), target);
  }
  return out;
}

describe("deploy/docker-compose.yml", () => {
  it("runs the service, Prometheus and Grafana with pinned images", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["grafana", "prometheus", "skipwise"]);
    expect(compose.services.skipwise.image).toMatch(/^node:20(-|$)/);
    for (const name of ["prometheus", "grafana"]) {
      expect(compose.services[name].image).toMatch(/:v?\d+\.\d+\.\d+$/);
    }
  });

  it("starts the service with npm ci and skipwise serve on the repository it mounts", () => {
    const service = compose.services.skipwise;
    const command = (service.command as string[]).join(" ");
    expect(command).toContain("npm ci");
    expect(command).toMatch(/node bin\/skipwise\.js serve/);
    expect(mounts("skipwise").get(REPO)).toBe(service.working_dir);
    expect(service.environment.SKIPWISE_HOST).toBe("0.0.0.0");
    expect(service.ports).toContain(published(service.environment.SKIPWISE_PORT));
  });

  it("publishes every port on 127.0.0.1 unless SKIPWISE_BIND says otherwise", () => {
    for (const [name, service] of Object.entries(compose.services) as [string, { ports: string[] }][]) {
      for (const port of service.ports)
        expect(port, name).toMatch(/^\$\{SKIPWISE_BIND:-127\.0\.0\.1\}:\d+:\d+$/);
    }
  });

  it("has no default API key or Grafana password: both come from secret files", () => {
    expect(composeText).not.toMatch(/change-me/);
    expect(composeText).not.toMatch(/admin\s*\/\s*admin/);
    const env = (name: string): Record<string, string> => compose.services[name].environment;
    expect(env("skipwise").SKIPWISE_API_KEY).toBeUndefined();
    expect(env("grafana").GF_SECURITY_ADMIN_PASSWORD).toBeUndefined();
    for (const [name, vars] of Object.entries(compose.services).map(
      ([n, s]) =>
        [n, Object.entries((s as { environment?: Record<string, string> }).environment ?? {})] as const,
    )) {
      for (const [variable, value] of vars) {
        if (/KEY|PASSWORD|SECRET|TOKEN/.test(variable))
          expect(value, `${name} ${variable}`).toMatch(/^\/run\/secrets\/\w+$/);
      }
    }
    const uses = (service: string, secret: string, variable: string) => {
      expect(compose.services[service].secrets).toContain(secret);
      expect(compose.secrets[secret].file).toBe(`./secrets/${secret}`);
      expect(env(service)[variable]).toBe(`/run/secrets/${secret}`);
    };
    uses("skipwise", "skipwise_api_key", "SKIPWISE_API_KEY_FILE");
    uses("grafana", "grafana_admin_password", "GF_SECURITY_ADMIN_PASSWORD__FILE");
    expect(env("grafana").GF_USERS_ALLOW_SIGN_UP).toBe("false");
    expect(env("grafana").GF_AUTH_ANONYMOUS_ORG_ROLE ?? "Viewer").toBe("Viewer");
    // Grafana would fall back to its default password on an unreadable file: its entrypoint refuses first.
    const entrypoint = (compose.services.grafana.entrypoint as string[]).join(" ");
    expect(entrypoint).toContain("/run/secrets/grafana_admin_password");
    expect(entrypoint).toMatch(/exit 1;.*exec \/run\.sh$/);
  });

  it("make-secrets.sh writes random secrets the service accepts, once, and git ignores them", () => {
    const dir = mkdtempSync(join(tmpdir(), "skipwise-secrets-"));
    try {
      const target = join(dir, "secrets");
      const run = () =>
        execFileSync("sh", [resolve(DEPLOY, "make-secrets.sh"), target], { encoding: "utf8" });
      expect(run()).toMatch(/wrote .*skipwise_api_key/);
      expect(statSync(target).mode & 0o777).toBe(0o700);
      const keyFile = join(target, "skipwise_api_key");
      const passwordFile = join(target, "grafana_admin_password");
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(statSync(passwordFile).mode & 0o777).toBe(0o644);
      const key = readFileSync(keyFile, "utf8");
      expect(key).toMatch(/^[0-9a-f]{64}\n$/);
      expect(readFileSync(passwordFile, "utf8")).toMatch(/^[0-9a-f]{64}\n$/);
      expect(readFileSync(passwordFile, "utf8")).not.toBe(key);
      expect(resolveServeConfig({ bundle: "b", apiKeyFile: keyFile }, {}).apiKey).toBe(key.trim());
      writeFileSync(keyFile, `${"k".repeat(32)}\n`);
      expect(run()).toMatch(/kept .*skipwise_api_key/);
      expect(readFileSync(keyFile, "utf8")).toBe(`${"k".repeat(32)}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const ignored = readFileSync(resolve(REPO, ".gitignore"), "utf8").split("\n");
    expect(ignored).toContain("deploy/secrets/");
    expect(compose.secrets.skipwise_api_key.file).toMatch(/^\.\/secrets\//);
  });

  it("mounts files and folders that exist in deploy/", () => {
    for (const service of ["prometheus", "grafana", "skipwise"]) {
      for (const source of mounts(service).keys()) expect(existsSync(source), source).toBe(true);
    }
  });

  it("gives Prometheus the shipped config and rules where the config expects them", () => {
    const m = mounts("prometheus");
    const configTarget = m.get(resolve(DEPLOY, "prometheus.yml")) as string;
    expect(compose.services.prometheus.command).toContain(`--config.file=${configTarget}`);
    for (const rules of prometheus.rule_files as string[]) {
      const target = m.get(resolve(DEPLOY, rules));
      expect(target, rules).toBe(resolve(configTarget, "..", rules));
    }
  });
});

describe("deploy/prometheus.yml", () => {
  it("scrapes the compose service on its port and path", () => {
    const job = prometheus.scrape_configs.find((j: { job_name: string }) => j.job_name === "skipwise");
    expect(job.metrics_path).toBe("/metrics");
    expect(job.static_configs[0].targets).toEqual([
      `skipwise:${compose.services.skipwise.environment.SKIPWISE_PORT}`,
    ]);
  });
});

describe("Grafana provisioning", () => {
  it("provides the datasource the dashboard panels name, pointing at the compose Prometheus", () => {
    const [source] = datasources.datasources;
    expect(source.type).toBe("prometheus");
    expect(source.url).toBe("http://prometheus:9090");
    expect(compose.services.prometheus.ports).toContain(published("9090"));
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid, panel.title).toBe(source.uid);
      for (const target of panel.targets) expect(target.datasource.uid).toBe(source.uid);
    }
  });

  it("loads dashboards from the folder compose mounts the dashboard JSON into", () => {
    const m = mounts("grafana");
    expect(providers.providers[0].options.path).toBe(m.get(resolve(DEPLOY, "grafana/dashboards")));
    expect(m.get(resolve(DEPLOY, "grafana/provisioning"))).toBe("/etc/grafana/provisioning");
  });

  it("has a dashboard with unique panel ids, non-overlapping panels and the required views", () => {
    const ids = dashboard.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const { gridPos: g, title } of dashboard.panels) {
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps another panel`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
      expect(g.x + g.w).toBeLessThanOrEqual(24);
    }
    const exprs = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) =>
      p.targets.map((t) => t.expr),
    );
    const uses = (fragment: string) => exprs.some((e: string) => e.includes(fragment));
    expect(uses("variant:skipwise_online_accuracy:")).toBe(true);
    expect(uses("skipwise_decisions_total")).toBe(true);
    expect(uses("histogram_quantile(0.5,")).toBe(true);
    expect(uses("histogram_quantile(0.99,")).toBe(true);
    expect(uses("variant:skipwise_cache_waste_avoided:")).toBe(true);
    expect(uses("skipwise_bundle_info")).toBe(true);
  });
});
