import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { analyzeExperiment } from "../../src/experiment/analyze.ts";
import { abtestReport, abtestSummary, writeAbtestReport } from "../../src/experiment/report.ts";
import type { DecisionRecord } from "../../src/experiment/types.ts";

function records(accuracyA: number, accuracyB: number, perVariant: number): DecisionRecord[] {
  const out: DecisionRecord[] = [];
  for (const [variant, accuracy] of [
    ["control", accuracyA],
    ["treatment", accuracyB],
  ] as const) {
    for (let i = 0; i < perVariant; i++) {
      const outcome = i % 4 === 0 ? "SKIP" : "PLAY";
      const right = (i * 7919) % 100 < accuracy * 100;
      const decision = right ? outcome : outcome === "SKIP" ? "PLAY" : "SKIP";
      out.push({
        decisionId: `${variant}-${i}`,
        ts: Date.UTC(2024, 0, 1) + i * 60_000,
        experiment: "exp <b>",
        variant,
        model: variant === "control" ? "naive" : "gbdt",
        userId: (variant === "control" ? 0 : 1) + 2 * (i % 50),
        trackId: `t${i}`,
        probSkip: 0.5,
        decision,
        outcome,
        durationMs: 200_000,
        heardMs: outcome === "SKIP" ? 20_000 : 200_000,
        preSkipRate: (i % 50) / 50,
      });
    }
  }
  return out;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("abtestReport", () => {
  it("renders a self-contained page with the charts and JSON that round-trips", async () => {
    const analysis = analyzeExperiment(records(0.6, 0.8, 800));
    const { html, json } = await abtestReport(analysis, { generatedAt: "2024-01-02T00:00:00Z" });
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).toContain("exp &lt;b&gt;");
    expect(html).not.toContain("<script");
    expect(html.match(/<figure class="chart"/g)).toHaveLength(4);
    expect(html).toContain('data-chart="timeline"');
    expect(html).toContain('data-chart="cost"');
    expect(html).toContain("Always-valid 95 %");
    for (const id of ["variants", "comparison", "srm", "cuped", "cache", "cost", "timeline"])
      expect(html).toContain(`id="${id}"`);
    expect(html).toContain("verdict-pass");
    expect(html).toContain("treatment beats control");
    const parsed = JSON.parse(json);
    expect(parsed.variants[1].accuracy.estimate).toBeCloseTo(analysis.variants[1].accuracy.estimate, 15);
    expect(parsed.comparisons[0].accuracy.pValue).toBeCloseTo(analysis.comparisons[0].accuracy.pValue, 15);
    expect(parsed.costTests[0].sequential.upper).toBeCloseTo(analysis.costTests[0].sequential.upper, 15);
    expect(parsed.costTimeline.length).toBe(analysis.costTimeline.length);
  });

  it("warns when the difference does not survive clustering by user", async () => {
    const userAccuracy: [string, number, number][] = [
      ["control", 1, 0.4],
      ["control", 2, 0.6],
      ["control", 3, 0.95],
      ["treatment", 4, 0.5],
      ["treatment", 5, 0.7],
      ["treatment", 6, 1],
    ];
    const rows: DecisionRecord[] = [];
    for (const [variant, userId, accuracy] of userAccuracy) {
      for (let i = 0; i < 400; i++) {
        const right = i < accuracy * 400;
        rows.push({
          decisionId: `${userId}-${i}`,
          ts: i,
          experiment: "e",
          variant,
          model: "m",
          userId,
          trackId: "t",
          probSkip: 0.5,
          decision: right ? "PLAY" : "SKIP",
          outcome: "PLAY",
        });
      }
    }
    const analysis = analyzeExperiment(rows);
    const c = analysis.comparisons[0];
    expect(c.accuracy.newcombe.lower).toBeGreaterThan(0);
    expect(c.accuracyClustered.lower).toBeLessThan(0);
    const { html } = await abtestReport(analysis);
    expect(html).toContain("verdict-warn");
    expect(html).toContain("not significant once decisions are clustered by user");
  });

  it("summarises variants, comparisons and SRM in a few lines", () => {
    const analysis = analyzeExperiment(records(0.6, 0.8, 800));
    const lines = abtestSummary(analysis);
    expect(lines).toHaveLength(8);
    expect(lines[0]).toMatch(
      /^control \(naive\): 50 users, 800 decisions with feedback, accuracy 0\.\d{3} \[/,
    );
    expect(lines[2]).toMatch(/^treatment − control: \+0\.\d{3} \[\+0\.\d{3}, \+0\.\d{3}\], p = /);
    // Per variant: the cost against cache-everything (one-look and always-valid), then the listens needed.
    expect(lines[3]).toMatch(
      /^control: cost vs cache-everything \+0\.\d{3} per listen \(cache-everything 0\.900\), fixed-horizon 95 % \[.*\] p = .*, always-valid 95 % \[\+0\.\d{3}, \+0\.\d{3}\] after 800 listens: costs more than cache-everything$/,
    );
    expect(lines[4]).toMatch(
      /^control: listens needed to detect a saving of 10\.0 % \(0\.090 per listen\) with 80\.0 % power: [\d,]+ \(fixed-horizon, one look\), [\d,]+ \(always-valid\); detectable now: /,
    );
    expect(lines[5]).toMatch(/^treatment: cost vs .* after 800 listens: not yet concluded$/);
    expect(lines[7]).toMatch(/^SRM: χ² = 0\.00, p = 1\.0000$/);
  });

  it("fails the verdict on a sample-ratio mismatch", async () => {
    const all = records(0.7, 0.7, 400);
    const lopsided = all.filter((r) => r.variant === "control" || r.userId % 10 === 1);
    const analysis = analyzeExperiment(lopsided);
    expect(analysis.srm.alarm).toBe(true);
    const { html } = await abtestReport(analysis);
    expect(html).toContain("verdict-fail");
    expect(html).toContain("Sample-ratio mismatch");
  });

  it("writes abtest.html and abtest.json atomically into the folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "abtest-"));
    dirs.push(dir);
    const { htmlPath, jsonPath } = await writeAbtestReport(
      analyzeExperiment(records(0.7, 0.72, 200)),
      join(dir, "out"),
    );
    expect(readFileSync(htmlPath, "utf8")).toContain("</html>");
    expect(JSON.parse(readFileSync(jsonPath, "utf8")).control).toBe("control");
  });
});
