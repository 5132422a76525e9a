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
