// The shipped Prometheus files without a running service: promtool accepts both configs (one service, the
// replica stack) and the rules; every metric the rules read is one the service exports; and `promtool test
// rules` proves, on three replicas' synthetic series, that the skipwise_replicas rules add the replicas up
// (rates summed, latency quantiles from the summed histograms, per-replica balance, bundle versions).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { REPO } from "./service.ts";

const DEPLOY = resolve(REPO, "deploy");
const PROMTOOL = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find((p) => existsSync(p));
const IN_CI = process.env.CI === "true";

interface Rule {
  record: string;
  expr: string;
}
const rules = parse(readFileSync(join(DEPLOY, "rules.yml"), "utf8")) as {
  groups: { name: string; rules: Rule[] }[];
};

describe("deploy/rules.yml reads only metrics the service exports", () => {
  it("every skipwise_* series in an expression is declared in src/serve/metrics.ts", () => {
    const source = readFileSync(join(REPO, "src/serve/metrics.ts"), "utf8");
    const exported = new Set([...source.matchAll(/name: "(skipwise_\w+)"/g)].map((m) => m[1]));
    expect(exported.size).toBeGreaterThan(10);
    const recorded = new Set(rules.groups.flatMap((g) => g.rules.map((r) => r.record)));
    for (const { record, expr } of rules.groups.flatMap((g) => g.rules)) {
      for (const [name] of expr.matchAll(/(?<![:\w])skipwise_\w+/g)) {
        const base = name.replace(/_(bucket|sum|count)$/, "");
        expect(exported.has(name) || exported.has(base), `${record} reads ${name}`).toBe(true);
      }
      for (const [name] of expr.matchAll(/\b\w+:\w+:\w+\b/g))
        expect(recorded.has(name), `${record} reads the recorded ${name}`).toBe(true);
    }
  });
});

describe("promtool on the shipped configs and rules", () => {
  if (!PROMTOOL) {
    it.skipIf(!IN_CI)("needs /usr/bin/promtool (Debian package prometheus)", () => {
      throw new Error("promtool not installed: .ci/run must install the Debian package prometheus");
    });
    return;
  }
  const promtool = (...args: string[]) => execFileSync(PROMTOOL, args, { encoding: "utf8", stdio: "pipe" });
  const work = mkdtempSync(join(tmpdir(), "skipwise-rules-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("accepts deploy/prometheus.yml, deploy/prometheus.replicas.yml and deploy/rules.yml", () => {
    for (const config of ["prometheus.yml", "prometheus.replicas.yml"])
      expect(promtool("check", "config", join(DEPLOY, config))).toContain("SUCCESS");
    expect(promtool("check", "rules", join(DEPLOY, "rules.yml"))).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("sums three replicas' series in the skipwise_replicas rules (promtool test rules)", () => {
    const job = 'job="skipwise"';
    const at = (i: number) => `${job},instance="skipwise-${i}:8000"`;
    /** A counter growing by `perSecond` every second, sampled every 15 s for 10 minutes. */
    const counter = (perSecond: number) => `0+${15 * perSecond}x40`;
    const series: [string, string][] = [];
    const add = (name: string, labels: string, values: string) => series.push([`${name}{${labels}}`, values]);
    /** A histogram whose observations all fall in the bucket ending at `le` (buckets as the service's). */
    const histogram = (name: string, labels: string, bounds: string[], le: string, perSecond: number) => {
      for (const bound of [...bounds, "+Inf"]) {
        const inside = bound === "+Inf" || Number(bound) >= Number(le);
        add(`${name}_bucket`, `${labels},le="${bound}"`, counter(inside ? perSecond : 0));
      }
      add(`${name}_count`, labels, counter(perSecond));
    };
    const route = 'route="/recommend",method="POST",status="200"';
    for (const i of [1, 2, 3]) {
      add("up", at(i), i === 3 ? "0x40" : "1x40");
      add("skipwise_http_requests_total", `${at(i)},${route}`, counter(i));
      add("skipwise_bundle_info", `${at(i)},bundle_version="${i === 3 ? "v2" : "v1"}"`, "1x40");
      add(
        "skipwise_decisions_total",
        `${at(i)},variant="${i === 3 ? "treatment" : "control"}",model="gbdt",decision="PLAY",served="true"`,
        counter(i),
      );
      add(
        "skipwise_feedback_outcomes_total",
        `${at(i)},variant="control",model="gbdt",predicted="skip",actual="skip"`,
        counter(1),
      );
      add("skipwise_decision_log_commits_total", at(i), counter(i));
      add("skipwise_decision_log_batch_rows_sum", at(i), counter(10 * i));
      add("skipwise_decision_log_batch_rows_count", at(i), counter(i));
      add("process_resident_memory_bytes", at(i), `${100e6 * i}x40`);
    }
    // Replica 1 commits within 1 ms at 1/s, replica 2 within 1–2 ms at 2/s: summed bucket by bucket, 1 of
    // every 3 commits is under 1 ms, so p50 = 1 ms + 1 ms × (1.5 − 1) / 2 and p99 = 1 ms + 1 ms × 1.97 / 2.
    // (The mean of the per-replica p50s would say 1 ms.)
    const commitBounds = ["0.0005", "0.001", "0.002", "0.005"];
    histogram("skipwise_decision_log_commit_seconds", at(1), commitBounds, "0.001", 1);
    histogram("skipwise_decision_log_commit_seconds", at(2), commitBounds, "0.002", 2);
    histogram("skipwise_http_request_duration_seconds", `${at(1)},${route}`, commitBounds, "0.001", 1);
    histogram("skipwise_http_request_duration_seconds", `${at(2)},${route}`, commitBounds, "0.002", 2);

    const expect1 = (expr: string, samples: [labels: string, value: number][]) => ({
      expr,
      eval_time: "10m",
      exp_samples: samples.map(([labels, value]) => ({ labels, value })),
    });
    const tests = {
      rule_files: [join(DEPLOY, "rules.yml")],
      evaluation_interval: "15s",
      tests: [
        {
          interval: "15s",
          input_series: series.map(([s, values]) => ({ series: s, values })),
          promql_expr_test: [
            expect1("job:skipwise_replicas_up:sum", [[`job:skipwise_replicas_up:sum{${job}}`, 2]]),
            expect1("bundle_version:skipwise_replicas:count", [
              [`bundle_version:skipwise_replicas:count{${job},bundle_version="v1"}`, 2],
              [`bundle_version:skipwise_replicas:count{${job},bundle_version="v2"}`, 1],
            ]),
            expect1("skipwise:http_requests:rate1m", [[`skipwise:http_requests:rate1m{${job},${route}}`, 6]]),
            expect1("job:skipwise_http_requests:rate1m", [[`job:skipwise_http_requests:rate1m{${job}}`, 6]]),
            expect1(
              "instance:skipwise_http_requests:rate1m",
              [1, 2, 3].map(
                (i) => [`instance:skipwise_http_requests:rate1m{${at(i)}}`, i] as [string, number],
              ),
            ),
            expect1("variant:skipwise_decisions:rate1m", [
              [
                `variant:skipwise_decisions:rate1m{${job},variant="control",model="gbdt",decision="PLAY",served="true"}`,
                3,
              ],
              [
                `variant:skipwise_decisions:rate1m{${job},variant="treatment",model="gbdt",decision="PLAY",served="true"}`,
                3,
              ],
            ]),
            expect1("variant:skipwise_feedback_outcomes:rate1m", [
              [
                `variant:skipwise_feedback_outcomes:rate1m{${job},variant="control",predicted="skip",actual="skip"}`,
                3,
              ],
            ]),
            // The existing per-variant rules also add the replicas up: 3 replicas × 600 outcomes in 10 minutes.
            expect1("variant:skipwise_feedback_outcomes:sum", [
              [
                'variant:skipwise_feedback_outcomes:sum{variant="control",predicted="skip",actual="skip"}',
                1800,
              ],
            ]),
            expect1("skipwise:decision_log_commits:rate1m", [
              [`skipwise:decision_log_commits:rate1m{${job}}`, 6],
            ]),
            expect1("skipwise:decision_log_rows:rate1m", [[`skipwise:decision_log_rows:rate1m{${job}}`, 60]]),
            expect1("skipwise:decision_log_batch_rows:mean_rate1m", [
              [`skipwise:decision_log_batch_rows:mean_rate1m{${job}}`, 10],
            ]),
            expect1("skipwise:decision_log_commit_seconds:p50_rate5m", [
              [`skipwise:decision_log_commit_seconds:p50_rate5m{${job}}`, 0.00125],
            ]),
            expect1("skipwise:decision_log_commit_seconds:p99_rate5m", [
              [`skipwise:decision_log_commit_seconds:p99_rate5m{${job}}`, 0.001985],
            ]),
            expect1("route:skipwise_http_request_duration_seconds:p50_rate5m", [
              [`route:skipwise_http_request_duration_seconds:p50_rate5m{${job},route="/recommend"}`, 0.00125],
            ]),
            expect1("route:skipwise_http_request_duration_seconds:p99_rate5m", [
              [
                `route:skipwise_http_request_duration_seconds:p99_rate5m{${job},route="/recommend"}`,
                0.001985,
              ],
            ]),
            expect1("job:skipwise_process_resident_memory_bytes:sum", [
              [`job:skipwise_process_resident_memory_bytes:sum{${job}}`, 600e6],
            ]),
          ],
        },
      ],
    };
    const file = join(work, "replicas.test.yml");
    writeFileSync(file, stringify(tests));
    let out: string;
    try {
      out = promtool("test", "rules", file);
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      throw new Error(`promtool test rules failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }
    expect(out).toContain("SUCCESS");
  });
});
