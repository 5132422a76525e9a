import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cacheReport, cacheSummary, writeCacheReport } from "../../src/cache/report.ts";
import { simulateCache } from "../../src/cache/simulate.ts";
import type { CacheListen } from "../../src/cache/types.ts";

function trace(n: number): { listens: CacheListen[]; pSkip: Float64Array } {
  const listens: CacheListen[] = [];
  const pSkip = new Float64Array(n);
  let seed = 7;
  const random = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  for (let i = 0; i < n; i++) {
    const risk = random();
    const skipped = random() < risk;
    const durationMs = 120_000 + Math.floor(random() * 180_000);
    listens.push({
      userId: i % 5,
      sessionId: Math.floor(i / 10),
      trackId: `t${Math.floor(random() * 40)}`,
      durationMs,
      heardMs: skipped ? Math.floor(random() * durationMs * 0.5) : durationMs,
      skipped,
      startMs: i * 200_000,
    });
    pSkip[i] = Math.min(1, Math.max(0, risk + (random() - 0.5) * 0.3));
  }
  return { listens, pSkip };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("cacheReport", () => {
  const { listens, pSkip } = trace(400);
  const result = simulateCache(listens, {
    models: [{ name: "noisy", pSkip, threshold: 0.5 }],
    genreRuleSkip: Uint8Array.from(listens, (_, i) => (i % 3 === 0 ? 1 : 0)),
    device: { capacitiesBytes: [20e6] },
    recommend: { kind: "model", model: "noisy", threshold: 0.5, reason: "chosen on an earlier period" },
  });

  it("renders the frontier, the tables and the recommendation", async () => {
    const { html, json } = await cacheReport(result, {
      source: "a hand trace",
      generatedAt: "2024-01-01T00:00:00Z",
    });
    expect(html).toContain('data-chart="frontier"');
    for (const id of ["frontier", "policies", "sweep", "device"]) expect(html).toContain(`id="${id}"`);
    expect(html).toContain(
      "Recommended (chosen on the validation period, before this period): noisy @ 0.5 (prefetch when P(skip) is below the threshold).",
    );
    expect(html).toContain("Why: chosen on an earlier period.");
    expect(html).toContain("Net saving of every policy over caching everything");
    expect(html).toContain("bootstrap over users");
    expect(html).toContain("cache everything");
    expect(html).toContain("naive genre rule");
    expect(html).not.toContain("<script");
    const parsed = JSON.parse(json);
    expect(parsed.policies).toHaveLength(result.policies.length);
    expect(parsed.recommended.threshold).toBe(0.5);
    expect(parsed.recommendation.kind).toBe("model");
    expect(parsed.policies[0].saving).toBe(0);
    expect(parsed.sweep).toHaveLength(101);
  });

  it("says so when no policy was chosen beforehand", async () => {
    const { html } = await cacheReport(simulateCache(listens));
    expect(html).toContain("No policy was chosen beforehand");
    expect(html).not.toContain('id="sweep"');
  });

  it("says 'cache everything' in plain words when that is the recommendation, and what models would have done", async () => {
    const all = simulateCache(listens, {
      models: [{ name: "noisy", pSkip, threshold: 0.5 }],
      recommend: {
        kind: "cache-all",
        model: null,
        threshold: null,
        reason: "no model saves more than caching everything on the validation period: prefetch everything",
      },
    });
    const { html } = await cacheReport(all);
    expect(html).toContain("cache everything (prefetch every track)");
    expect(html).toContain("the recommendation is caching everything itself");
    expect(html).toContain('class="verdict verdict-warn"');
    const lines = cacheSummary(all);
    expect(lines[0]).toBe(
      "recommended (chosen on the validation period, before this period): cache everything (prefetch every track)",
    );
    expect(lines.some((l) => l.startsWith(" * cache everything"))).toBe(true);
  });

  it("writes cache.html and cache.json", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cache-report-"));
    dirs.push(dir);
    const { htmlPath, jsonPath } = await writeCacheReport(result, dir);
    expect(readFileSync(htmlPath, "utf8")).toContain("</html>");
    expect(JSON.parse(readFileSync(jsonPath, "utf8")).listens).toBe(400);
  });
});
