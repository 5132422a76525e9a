import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeFileAtomic, writeFileAtomicSync } from "../../src/report/files.ts";

const root = mkdtempSync(join(tmpdir(), "skipwise-files-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("writeFileAtomic", () => {
  it("writes, overwrites and creates missing parent folders, leaving no temp files", async () => {
    const path = join(root, "nested", "deeper", "report.html");
    await writeFileAtomic(path, "<p>one</p>");
    expect(readFileSync(path, "utf8")).toBe("<p>one</p>");
    await writeFileAtomic(path, new TextEncoder().encode("two"));
    expect(readFileSync(path, "utf8")).toBe("two");
    expect(readdirSync(join(root, "nested", "deeper"))).toEqual(["report.html"]);
  });

  it("fails with the path in the message and cleans its temp file when the target is a folder", async () => {
    const dir = join(root, "occupied");
    mkdirSync(join(dir, "metrics.json"), { recursive: true });
    await expect(writeFileAtomic(join(dir, "metrics.json"), "{}")).rejects.toThrow(
      /cannot write .*metrics\.json/,
    );
    expect(readdirSync(dir)).toEqual(["metrics.json"]);
  });

  it("concurrent writers never interleave: the file ends up as exactly one of the contents", async () => {
    const path = join(root, "race", "out.txt");
    const contents = ["a", "b", "c", "d", "e"].map((ch, i) => ch.repeat(400_000 + i * 50_000));
    await Promise.all(contents.map((c) => writeFileAtomic(path, c)));
    const final = readFileSync(path, "utf8");
    expect(contents).toContain(final);
    expect(readdirSync(join(root, "race"))).toEqual(["out.txt"]);
  });
});

describe("writeFileAtomicSync", () => {
  it("writes and overwrites atomically, and reports failures with the path", () => {
    const path = join(root, "sync", "state.json");
    writeFileAtomicSync(path, '{"a":1}');
    writeFileAtomicSync(path, '{"a":2}');
    expect(readFileSync(path, "utf8")).toBe('{"a":2}');
    expect(readdirSync(join(root, "sync"))).toEqual(["state.json"]);
    mkdirSync(join(root, "sync", "dir.json"));
    expect(() => writeFileAtomicSync(join(root, "sync", "dir.json"), "x")).toThrow(
      /cannot write .*dir\.json/,
    );
    expect(readdirSync(join(root, "sync")).sort()).toEqual(["dir.json", "state.json"]);
  });
});
