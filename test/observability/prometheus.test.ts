// The shipped observability config against a real Prometheus: `skipwise serve` (a bundle trained by the
// real CLI on a generated delivery) is scraped every second by Prometheus running deploy/rules.yml; after a
// replay with feedback, the PromQL the Grafana dashboard uses must give the accuracy, precision, recall and
// cache-waste figures the A/B analysis computes from the decision log.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { analyzeExperiment } from "../../src/experiment/index.ts";
import type { ExperimentAnalysis } from "../../src/experiment/types.ts";
import { readAnalysisRecords } from "../../src/serve/log-export.ts";
import {
  freePort,
  generateAndTrain,
  lastListens,
  postJson,
  REPO,
  replay,
  type ServeChild,
  skipwise,
  spawnServe,
} from "./service.ts";

const DEPLOY = resolve(REPO, "deploy");
const DASHBOARD = resolve(DEPLOY, "grafana/dashboards/skipwise.json");
const PROMETHEUS = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].find((p) => existsSync(p));
const PROMTOOL = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find((p) => existsSync(p));
const IN_CI = process.env.CI === "true";
const LISTENS = 400;
const API_KEY = "observability-test-key";

interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
}
interface Panel {
  title: string;
  type: string;
  targets: Target[];
}
interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: Panel[] };

function panel(titleStart: string): Panel {
  const found = dashboard.panels.find((p) => p.title.startsWith(titleStart));
  if (!found) throw new Error(`the dashboard has no panel titled "${titleStart}…"`);
  return found;
}

/** Grafana's built-in interval variables, as Grafana would expand them for a 1 s scrape interval. */
function expandGrafanaVariables(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "4s")
    .replaceAll("$__interval", "1s")
    .replaceAll("$__range", "5m");
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
}

describe("Prometheus scraping skipwise serve with the shipped rules and dashboard", () => {
  if (!PROMETHEUS || !PROMTOOL) {
    // Outside CI a machine without Prometheus skips; in CI (.ci/run installs it) its absence is a failure.
    it.skipIf(!IN_CI)("needs /usr/bin/prometheus and /usr/bin/promtool (Debian package prometheus)", () => {
      throw new Error(
        "prometheus / promtool not installed: .ci/run must install the Debian package prometheus",
      );
    });
    return;
  }

  let work: string;
  let service: ServeChild | undefined;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = "";
  let promUrl: string;
  let db: string;
  let analysis: ExperimentAnalysis;
  let feedbackSent = 0;

  const query = async (
    expr: string,
  ): Promise<{ status: string; data?: { result: Sample[] }; error?: string }> => {
    const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await response.json()) as { status: string; data?: { result: Sample[] }; error?: string };
  };
  const values = async (expr: string): Promise<Sample[]> => {
    const answer = await query(expr);
    if (answer.status !== "success") throw new Error(`${expr}: ${answer.error}`);
    return answer.data?.result ?? [];
  };
  const byVariant = async (expr: string): Promise<Map<string, number>> =>
    new Map((await values(expandGrafanaVariables(expr))).map((s) => [s.metric.variant, Number(s.value[1])]));

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "skipwise-prometheus-"));
    const { delivery, bundle } = generateAndTrain(work);
    db = join(work, "decisions.db");
    // A small delivery's policy is "cache everything" (every answer PLAY, precision undefined); the dashboard's
    // SKIP panels need the models to decide, as in an A/B test run to gather online evidence.
    service = await spawnServe({
      bundle,
      data: delivery,
      db,
      apiKey: API_KEY,
      extra: ["--decisions", "models"],
    });

    // The shipped config with a 1 s scrape/evaluation interval, the test's target and the shipped rules.
    const config = parse(readFileSync(join(DEPLOY, "prometheus.yml"), "utf8"));
    config.global.scrape_interval = "1s";
    config.global.evaluation_interval = "1s";
    config.rule_files = [join(DEPLOY, "rules.yml")];
    const job = config.scrape_configs.find((j: { job_name: string }) => j.job_name === "skipwise");
    job.scrape_interval = "1s";
    job.static_configs[0].targets = [`127.0.0.1:${service.port}`];
    const configPath = join(work, "prometheus.yml");
    writeFileSync(configPath, stringify(config));
    execFileSync(PROMTOOL as string, ["check", "config", configPath], { stdio: "pipe" });

    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    mkdirSync(join(work, "tsdb"));
    prometheus = spawn(
      PROMETHEUS as string,
      [
        `--config.file=${configPath}`,
        `--storage.tsdb.path=${join(work, "tsdb")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    prometheus.stdout?.on("data", (c: Buffer) => (prometheusLog += c.toString()));
    prometheus.stderr?.on("data", (c: Buffer) => (prometheusLog += c.toString()));
    await waitFor("Prometheus to be ready", async () => {
      const r = await fetch(`${promUrl}/-/ready`);
      return r.ok ? true : undefined;
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${prometheusLog}`);
    });
    // Traffic starts after the first scrape, so every counter's first sample is its declared 0.
    await waitFor("the first scrape of skipwise", async () => {
      const up = await values('up{job="skipwise"}');
      return up.length === 1 && up[0].value[1] === "1" ? true : undefined;
    });

    const reload = await postJson(`${service.url}/admin/reload`, null, { "x-api-key": API_KEY });
    expect(reload.status).toBe(200);
    const listens = await lastListens(delivery, LISTENS);
    const result = await replay(service.url, listens, 8);
    expect(result.failures).toEqual([]);
    feedbackSent = result.feedback;

    // Wait until a scrape has seen every outcome and the rules have been evaluated over it.
    await waitFor("the rules to cover every outcome", async () => {
      const total = await values("sum(variant:skipwise_feedback_outcomes:sum)");
      const windowed = await values("sum(variant:skipwise_online_accuracy:ratio_rate5m >= 0)");
      return total.length === 1 && Number(total[0].value[1]) === feedbackSent && windowed.length === 1
        ? true
        : undefined;
    });
    // Then one more scrape and, after it, one more evaluation of every rule group, so the 5-minute windows
    // of both groups also hold the final samples (waiting on Prometheus' own timestamps, not a guessed sleep).
    const outcomesSeenAt = Date.now();
    let scrapedAt = Number.NaN;
    await waitFor("a scrape of skipwise after every outcome was counted", async () => {
      const targets = (await (await fetch(`${promUrl}/api/v1/targets?state=active`)).json()) as {
        data: {
          activeTargets: { labels: Record<string, string>; lastScrape: string; lastScrapeDuration: number }[];
        };
      };
      const target = targets.data.activeTargets.find((t) => t.labels.job === "skipwise");
      const at = Date.parse(target?.lastScrape ?? "");
      if (!(at > outcomesSeenAt)) return undefined;
      // lastScrape is when it started; its samples are stored once it ends.
      scrapedAt = at + 1000 * (target?.lastScrapeDuration ?? 0);
      return true;
    });
    await waitFor("every rule group evaluated after that scrape", async () => {
      const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
        data: { groups: { name: string; lastEvaluation: string }[] };
      };
      const groups = rules.data.groups;
      return groups.length > 0 && groups.every((g) => Date.parse(g.lastEvaluation) > scrapedAt)
        ? true
        : undefined;
    });

    const records = readAnalysisRecords(db);
    analysis = analyzeExperiment(records);
  }, 300_000); // a generous hook timeout: CI machines may be busy

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus?.once("exit", r));
      prometheus.kill("SIGTERM");
      await exited;
    }
    await service?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("ships a config and rules that promtool accepts", () => {
    const config = execFileSync(PROMTOOL as string, ["check", "config", join(DEPLOY, "prometheus.yml")], {
      encoding: "utf8",
    });
    expect(config).toContain("SUCCESS");
    const rules = execFileSync(PROMTOOL as string, ["check", "rules", join(DEPLOY, "rules.yml")], {
      encoding: "utf8",
    });
    expect(rules).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("replayed two variants, every decision with its outcome in the log", () => {
    expect(feedbackSent).toBeGreaterThan(LISTENS * 0.9);
    expect(analysis.records).toBe(feedbackSent);
    expect(analysis.variants.length).toBe(2);
    for (const v of analysis.variants) expect(v.decisionsWithOutcome).toBeGreaterThan(50);
  });

  it("every panel query of the dashboard parses and runs in Prometheus and returns series", async () => {
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(6);
    for (const p of dashboard.panels) {
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) {
        const answer = await query(expandGrafanaVariables(t.expr));
        expect(answer.status, `${p.title} / ${t.refId}: ${t.expr}: ${answer.error}`).toBe("success");
        expect(
          answer.data?.result.length,
          `${p.title} / ${t.refId}: ${t.expr} returned no series`,
        ).toBeGreaterThan(0);
      }
    }
  });

  it("online accuracy per variant (both dashboard queries) equals the A/B analysis of the decision log", async () => {
    const targets = panel("Online accuracy").targets;
    expect(targets.length).toBe(2);
    for (const t of targets) {
      const accuracy = await byVariant(t.expr);
      expect([...accuracy.keys()].sort()).toEqual(analysis.variants.map((v) => v.variant).sort());
      for (const v of analysis.variants) {
        expect(accuracy.get(v.variant), `${t.expr} for ${v.variant}`).toBeCloseTo(v.accuracy.estimate, 9);
      }
    }
  });

  it("the dashboard's accuracy equals what `skipwise abtest analyze` writes to abtest.json", async () => {
    const out = join(work, "abtest");
    skipwise(["abtest", "analyze", "--log", db, "--out", out]);
    const json = JSON.parse(readFileSync(join(out, "abtest.json"), "utf8")) as ExperimentAnalysis;
    const accuracy = await byVariant(panel("Online accuracy").targets[0].expr);
    expect(json.variants.length).toBe(accuracy.size);
    for (const v of json.variants) {
      expect(accuracy.get(v.variant), v.variant).toBeCloseTo(v.accuracy.estimate, 9);
    }
  });

  it("precision and recall of SKIP per variant equal the A/B analysis", async () => {
    const [precisionTarget, recallTarget] = panel("Precision and recall").targets;
    const precision = await byVariant(precisionTarget.expr);
    const recall = await byVariant(recallTarget.expr);
    for (const v of analysis.variants) {
      const { tp, fp, fn } = v.confusion;
      expect(precision.get(v.variant)).toBeCloseTo(tp / (tp + fp), 9);
      expect(recall.get(v.variant)).toBeCloseTo(tp / (tp + fn), 9);
      if (Number.isFinite(v.precision.estimate))
        expect(precision.get(v.variant)).toBeCloseTo(v.precision.estimate, 9);
      if (Number.isFinite(v.recall.estimate)) expect(recall.get(v.variant)).toBeCloseTo(v.recall.estimate, 9);
    }
  });

  it("cache waste saved vs cache-everything per variant equals the analysis' cache accounting", async () => {
    const saved = await byVariant(panel("Cache waste saved").targets[0].expr);
    const [wastedTarget, cacheAllTarget] = panel("Cache waste: variant").targets;
    const wasted = await byVariant(wastedTarget.expr);
    const cacheAll = await byVariant(cacheAllTarget.expr);
    for (const v of analysis.variants) {
      expect(v.cache.records).toBe(v.decisionsWithOutcome);
      expect(saved.get(v.variant)).toBeCloseTo(v.cache.wasteAvoidedShare, 9);
      // Shares of the audio cache-everything would fetch: heard + unplayed tails = Σ durations.
      expect(wasted.get(v.variant)).toBeCloseTo(v.cache.wastedMs / v.cache.totalMs, 6);
      expect(cacheAll.get(v.variant)).toBeCloseTo(v.cache.cacheAllWastedMs / v.cache.totalMs, 6);
    }
  });

  it("decisions, latency and bundle version panels report the replay", async () => {
    const decided = await values("sum(skipwise_decisions_total)");
    expect(Number(decided[0].value[1])).toBe(feedbackSent);
    const latency = await values(
      expandGrafanaVariables(panel("Latency").targets[1].expr).replace("[4s]", "[5m]"),
    );
    const abtest = latency.find((s) => s.metric.route === "/abtest");
    expect(Number(abtest?.value[1])).toBeGreaterThan(0);
    const bundle = await values(panel("Bundle version").targets[0].expr);
    const ready = (await (await fetch(`${service?.url}/ready`)).json()) as { bundle_version: string };
    expect(bundle.map((s) => s.metric.bundle_version)).toEqual([ready.bundle_version]);
  });
});
