import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_API_KEY_FILE_BYTES, resolveServeConfig } from "../../src/serve/config.ts";
import { tempDir } from "./helpers.ts";

const KEY = "0123456789abcdef0123456789abcdef";

describe("resolveServeConfig", () => {
  it("takes flags over environment variables over defaults", () => {
    const config = resolveServeConfig(
      { bundle: "b1", port: "9000" },
      { SKIPWISE_PORT: "7000", SKIPWISE_DB: "/tmp/x.db", SKIPWISE_RATE_LIMIT: "500", SKIPWISE_API_KEY: KEY },
    );
    expect(config).toMatchObject({
      bundle: "b1",
      port: 9000,
      db: "/tmp/x.db",
      host: "127.0.0.1",
      rateLimit: 500,
      apiKey: KEY,
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

describe("resolveServeConfig: the admin key", () => {
  const dir = tempDir("config");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const b = { bundle: "b" };

  it("reads the key from --api-key-file, dropping the trailing newline", () => {
    const path = file("key", `${KEY}\n`);
    expect(resolveServeConfig({ ...b, apiKeyFile: path }, {}).apiKey).toBe(KEY);
    expect(resolveServeConfig({ ...b, apiKeyFile: file("crlf", `${KEY}\r\n`) }, {}).apiKey).toBe(KEY);
    expect(resolveServeConfig(b, {}).apiKey).toBeUndefined();
  });

  it("reads the key from $SKIPWISE_API_KEY_FILE; a flag still wins over the environment", () => {
    const path = file("env-key", KEY);
    expect(resolveServeConfig(b, { SKIPWISE_API_KEY_FILE: path }).apiKey).toBe(KEY);
    expect(resolveServeConfig(b, { SKIPWISE_API_KEY_FILE: path, SKIPWISE_API_KEY: "" }).apiKey).toBe(KEY);
    const other = `${KEY}-flag`;
    expect(resolveServeConfig({ ...b, apiKey: other }, { SKIPWISE_API_KEY_FILE: path }).apiKey).toBe(other);
  });

  it("refuses the key and the key file given together", () => {
    const path = file("both", KEY);
    expect(() => resolveServeConfig({ ...b, apiKey: KEY, apiKeyFile: path }, {})).toThrow(
      /--api-key and --api-key-file: give one, not both/,
    );
    expect(() => resolveServeConfig(b, { SKIPWISE_API_KEY: KEY, SKIPWISE_API_KEY_FILE: path })).toThrow(
      /\$SKIPWISE_API_KEY and \$SKIPWISE_API_KEY_FILE are both set/,
    );
  });

  it("names the flag or variable and the path of a key file it cannot read", () => {
    const missing = join(dir, "no-such-key");
    expect(() => resolveServeConfig({ ...b, apiKeyFile: missing }, {})).toThrow(
      new RegExp(`--api-key-file "${missing}": cannot read the API key file: ENOENT`),
    );
    expect(() => resolveServeConfig(b, { SKIPWISE_API_KEY_FILE: missing })).toThrow(
      new RegExp(`\\$SKIPWISE_API_KEY_FILE "${missing}": cannot read`),
    );
    const folder = join(dir, "a-folder");
    mkdirSync(folder);
    expect(() => resolveServeConfig({ ...b, apiKeyFile: folder }, {})).toThrow(
      /cannot read the API key file/,
    );
  });

  it("refuses an empty, oversized or multi-line key file", () => {
    const empty = file("empty", "");
    expect(() => resolveServeConfig({ ...b, apiKeyFile: empty }, {})).toThrow(
      new RegExp(`--api-key-file "${empty}": the API key file is empty`),
    );
    expect(() => resolveServeConfig({ ...b, apiKeyFile: file("newline", "\n") }, {})).toThrow(/is empty/);
    const big = file("big", "k".repeat(MAX_API_KEY_FILE_BYTES + 1));
    expect(() => resolveServeConfig({ ...b, apiKeyFile: big }, {})).toThrow(
      /larger than 4096 bytes; the file should hold only the key/,
    );
    expect(() => resolveServeConfig({ ...b, apiKeyFile: file("lines", `${KEY}\n${KEY}\n`) }, {})).toThrow(
      /single line/,
    );
  });

  it("refuses a key shorter than 16 characters, from any source, without printing it", () => {
    const short = "short-key";
    for (const [flags, env, source] of [
      [{ ...b, apiKey: short }, {}, "--api-key"],
      [b, { SKIPWISE_API_KEY: short }, "\\$SKIPWISE_API_KEY"],
      [{ ...b, apiKeyFile: file("short", `${short}\n`) }, {}, "--api-key-file"],
      [{ ...b, apiKey: "" }, {}, "--api-key"],
    ] as const) {
      const attempt = () => resolveServeConfig(flags, env);
      expect(attempt).toThrow(new RegExp(`^${source}.*: the API key must be at least 16 characters`));
      expect(attempt).not.toThrow(new RegExp(short));
    }
    expect(resolveServeConfig({ ...b, apiKey: "x".repeat(16) }, {}).apiKey).toBe("x".repeat(16));
  });
});
