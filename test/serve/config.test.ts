import { describe, expect, it } from "vitest";
import { resolveServeConfig } from "../../src/serve/config.ts";

describe("resolveServeConfig", () => {
  it("takes flags over environment variables over defaults", () => {
    const config = resolveServeConfig(
      { bundle: "b1", port: "9000" },
      { SKIPWISE_PORT: "7000", SKIPWISE_DB: "/tmp/x.db", SKIPWISE_RATE_LIMIT: "500", SKIPWISE_API_KEY: "k" },
    );
    expect(config).toMatchObject({
      bundle: "b1",
      port: 9000,
      db: "/tmp/x.db",
      host: "127.0.0.1",
      rateLimit: 500,
      apiKey: "k",
      bodyLimit: 1024 * 1024,
      logLevel: "info",
    });
    expect(resolveServeConfig({}, { SKIPWISE_BUNDLE: "from-env" }).bundle).toBe("from-env");
  });

  it("names the flag or variable of a bad value", () => {
    expect(() => resolveServeConfig({ bundle: "b", port: "http" }, {})).toThrow(
      /--port: expected an integer/,
    );
    expect(() => resolveServeConfig({ bundle: "b" }, { SKIPWISE_PORT: "70000" })).toThrow(
      /\$SKIPWISE_PORT: must be ≤ 65535/,
    );
    expect(() => resolveServeConfig({}, {})).toThrow(/--bundle/);
    expect(() => resolveServeConfig({ bundle: "b", logLevel: "loud" }, {})).toThrow(/log-level/);
    expect(resolveServeConfig({ bundle: "b" }, {}).decisions).toBe("policy");
    expect(resolveServeConfig({ bundle: "b" }, { SKIPWISE_DECISIONS: "models" }).decisions).toBe("models");
    expect(() => resolveServeConfig({ bundle: "b", decisions: "gbdt" }, {})).toThrow(
      /--decisions: one of policy, models, got "gbdt"/,
    );
  });
});
