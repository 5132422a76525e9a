import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  publishDirectory,
  publishDirectorySync,
  writeFileAtomic,
  writeFileAtomicSync,
  writeFileAtomicSyncWith,
} from "../../src/base/atomic-write.ts";

const root = mkdtempSync(join(tmpdir(), "skipwise-atomic-"));
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

describe("writeFileAtomicSyncWith", () => {
  it("streams chunks through a temp file in the target's folder and returns fill's result", () => {
    const dir = join(root, "stream");
    const path = join(dir, "log.jsonl");
    const during: string[] = [];
    const lines = writeFileAtomicSyncWith(path, (write) => {
      write("a\n");
      write(new TextEncoder().encode("b\n"));
      during.push(...readdirSync(dir));
      return 2;
    });
    expect(lines).toBe(2);
    expect(readFileSync(path, "utf8")).toBe("a\nb\n");
    // While writing, only a hidden temp file beside the target existed (the rename stays on one file system).
    expect(during).toHaveLength(1);
    expect(during[0]).toMatch(/^\.log\.jsonl\.\d+\.[0-9a-f]+\.tmp$/);
    expect(readdirSync(dir)).toEqual(["log.jsonl"]);
  });

  it("rethrows fill's own error unchanged, keeps the old file and removes the temp file", () => {
    const dir = join(root, "stream-fail");
    const path = join(dir, "out.jsonl");
    writeFileAtomicSync(path, "old\n");
    const broken = new RangeError("not a decision log");
    expect(() =>
      writeFileAtomicSyncWith(path, (write) => {
        write("partial\n");
        throw broken;
      }),
    ).toThrow(broken);
    expect(readFileSync(path, "utf8")).toBe("old\n");
    expect(readdirSync(dir)).toEqual(["out.jsonl"]);
  });
});

describe("publishDirectorySync", () => {
  it("publishes a filled folder, replaces an existing one and leaves nothing beside it", () => {
    const parent = join(root, "bundles");
    const dir = join(parent, "bundle");
    publishDirectorySync(dir, (temp) => {
      expect(temp).not.toBe(dir);
      expect(readdirSync(temp)).toEqual([]);
      mkdirSync(join(temp, "models"));
      writeFileSync(join(temp, "models", "a.json"), "1");
    });
    expect(readFileSync(join(dir, "models", "a.json"), "utf8")).toBe("1");
    const result = publishDirectorySync(dir, (temp) => {
      writeFileSync(join(temp, "manifest.json"), "2");
      return "done";
    });
    expect(result).toBe("done");
    expect(readdirSync(dir)).toEqual(["manifest.json"]);
    expect(readdirSync(parent)).toEqual(["bundle"]);
  });

  it("on failure removes the temp folder and keeps the previous content", () => {
    const parent = join(root, "bundles-fail");
    const dir = join(parent, "bundle");
    publishDirectorySync(dir, (temp) => writeFileSync(join(temp, "manifest.json"), "old"));
    expect(() =>
      publishDirectorySync(dir, (temp) => {
        writeFileSync(join(temp, "manifest.json"), "new");
        throw new Error("disk full");
      }),
    ).toThrow("disk full");
    expect(readFileSync(join(dir, "manifest.json"), "utf8")).toBe("old");
    expect(readdirSync(parent)).toEqual(["bundle"]);
  });
});

describe("publishDirectory", () => {
  it("publishes asynchronously, and on failure leaves no temp folder and no target", async () => {
    const parent = join(root, "deliveries");
    const dir = join(parent, "delivery");
    await expect(
      publishDirectory(dir, async (temp) => {
        writeFileSync(join(temp, "sessions.jsonl"), "{}\n");
        throw new Error("generator failed");
      }),
    ).rejects.toThrow("generator failed");
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
    const n = await publishDirectory(dir, async (temp) => {
      writeFileSync(join(temp, "sessions.jsonl"), "{}\n");
      return 1;
    });
    expect(n).toBe(1);
    expect(readdirSync(dir)).toEqual(["sessions.jsonl"]);
    expect(readdirSync(parent)).toEqual(["delivery"]);
  });
});
