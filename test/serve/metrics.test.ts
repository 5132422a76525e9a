import { describe, expect, it } from "vitest";
import { ServeMetrics } from "../../src/serve/metrics.ts";

describe("ServeMetrics.declareRoute", () => {
  it("exports a route's request count and latency series at 0 before its first request", async () => {
    const metrics = new ServeMetrics({ processMetrics: false });
    metrics.declareRoute("/abtest", "POST");
    const before = await metrics.registry.metrics();
    expect(before).toContain('skipwise_http_requests_total{route="/abtest",method="POST",status="200"} 0');
    expect(before).toContain(
      'skipwise_http_request_duration_seconds_count{route="/abtest",method="POST",status="200"} 0',
    );
    metrics.observeRequest("/abtest", "POST", 200, 0.002);
    const after = await metrics.registry.metrics();
    expect(after).toContain('skipwise_http_requests_total{route="/abtest",method="POST",status="200"} 1');
    expect(after).toContain(
      'skipwise_http_request_duration_seconds_count{route="/abtest",method="POST",status="200"} 1',
    );
  });
});

describe("ServeMetrics: online net saving against cache-all (issue 14)", () => {
  it("prices each outcome with the cost model, served and shadow apart (hand-computed)", async () => {
    const metrics = new ServeMetrics({ processMetrics: false });
    metrics.declareVariant("model", "gbdt");
    const costs = { wastePerMb: 1, stall: 4, bitrateKbps: 160 };
    const labels = (predicted: "PLAY" | "SKIP", skipped: boolean) => ({
      variant: "model",
      model: "gbdt",
      predicted,
      skipped,
    });
    // SKIP, but played out: a stall (4) where cache-all cost nothing → −4.
    expect(metrics.countOutcome(labels("SKIP", false), false, 240_000, 240_000, costs)).toBe(-4);
    // SKIP, skipped at 30 s of 240 s: cache-all would have wasted 210 s × 160 kbit/s = 4.2 MB → +4.2.
    expect(metrics.countOutcome(labels("SKIP", true), false, 30_000, 240_000, costs)).toBeCloseTo(4.2, 12);
    // PLAY is what cache-all does: 0 whatever happens.
    expect(metrics.countOutcome(labels("PLAY", true), false, 30_000, 240_000, costs)).toBe(0);
    // A shadow score counts apart.
    expect(metrics.countOutcome(labels("SKIP", false), true, 240_000, 240_000, costs)).toBe(-4);
    const text = await metrics.registry.metrics();
    const value = (name: string, served: string) =>
      Number(new RegExp(`${name}\\{variant="model",served="${served}"\\} (\\S+)`).exec(text)?.[1]);
    expect(value("skipwise_decision_cost_total", "true")).toBeCloseTo(4 + 0 + 4.2, 12);
    expect(value("skipwise_cache_all_cost_total", "true")).toBeCloseTo(0 + 4.2 + 4.2, 12);
    expect(value("skipwise_net_saving", "true")).toBeCloseTo(0.2, 12);
    expect(value("skipwise_net_saving", "false")).toBe(-4);
  });
});
