import { describe, expect, it } from "vitest";
import { redactedUrl } from "../../src/base/format.ts";

describe("redactedUrl", () => {
  it("hides the password of a Redis or PostgreSQL URL and keeps the rest", () => {
    expect(redactedUrl("redis://:s3cret@127.0.0.1:6390/0")).toBe("redis://:***@127.0.0.1:6390/0");
    expect(redactedUrl("postgres://skipwise:s3cret@db:5432/skipwise")).toBe(
      "postgres://skipwise:***@db:5432/skipwise",
    );
    expect(redactedUrl("redis://127.0.0.1:6390")).toBe("redis://127.0.0.1:6390");
  });

  it("gives only the scheme of a URL it cannot parse, so a password in it never shows", () => {
    expect(redactedUrl("postgres://user:pa ss@[bad")).toBe("postgres://…");
    expect(redactedUrl("not a url")).toBe("url://…");
  });
});
