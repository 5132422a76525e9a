import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runGenerateCommand, scaledSize } from "../../src/synth/generate-command.ts";
import { SIZES } from "../../src/synth/types.ts";

const BIN = resolve(import.meta.dirname, "../../bin/skipwise.js");
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "skipwise-generate-cmd-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function capture(): { stream: Writable; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe("runGenerateCommand", () => {
  it("writes the delivery and prints a summary with the truth AUC and the injected defects", async () => {
    const out = capture();
    const stderr = capture();
    const summary = await runGenerateCommand({
      out: join(root, "a"),
      size: "small",
      seed: "9",
      dialect: "2023Z",
      defects: "null_user_id=0.02,duplicate_row=0.01",
      stdout: out.stream,
      stderr: stderr.stream as unknown as NodeJS.WriteStream,
    });
    expect(summary.manifest.seed).toBe(9);
    expect(summary.manifest.dialect).toBe("2023Z");
    expect(out.text()).toMatch(/seed 9, size small, dialect 2023Z/);
    expect(out.text()).toMatch(/ROC AUC of the true probabilities 0\.\d{4}/);
    expect(out.text()).toMatch(/injected defects: duplicate_row \d+, null_user_id \d+/);
    expect(stderr.text()).toBe(""); // no progress bar when stderr is not a terminal
  });

  it("rejects a bad size, dialect or seed before writing anything", async () => {
    const base = { out: join(root, "b"), stdout: capture().stream };
    await expect(runGenerateCommand({ ...base, size: "huge" })).rejects.toThrow(
      /--size must be one of small, demo, production/,
    );
    await expect(runGenerateCommand({ ...base, dialect: "2022" })).rejects.toThrow(
      /--dialect must be one of/,
    );
    await expect(runGenerateCommand({ ...base, seed: "abc" })).rejects.toThrow(/--seed must be an integer/);
    await expect(runGenerateCommand({ ...base, defects: "null_user_id:0.1" })).rejects.toThrow(
      /not kind=rate/,
    );
    expect(existsSync(join(root, "b"))).toBe(false);
  });
});

describe("skipwise generate (bin)", () => {
  it("generates a delivery and exits 0", () => {
    const dir = join(root, "bin");
    const stdout = execFileSync(
      process.execPath,
      [BIN, "generate", "--out", dir, "--size", "small", "--gzip"],
      {
        encoding: "utf8",
      },
    );
    expect(stdout).toMatch(/^wrote /);
    expect(existsSync(join(dir, "sessions.jsonl.gz"))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")).gzip).toBe(true);
  });

  it("exits 1 with one clear sentence on a bad option", () => {
    const result = spawnSync(
      process.execPath,
      [BIN, "generate", "--out", join(root, "c"), "--defects", "bogus=0.1"],
      {
        encoding: "utf8",
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^skipwise: unknown defect kind "bogus"/);
  });
});

describe("skipwise generate --scale", () => {
  it("multiplies the size's users and sessions, keeps the catalogue, and refuses bad values", () => {
    expect(scaledSize("production", undefined)).toBe("production");
    expect(scaledSize("production", "1")).toBe("production");
    expect(scaledSize("production", "10")).toEqual({
      ...SIZES.production,
      users: 50_000,
      sessions: 1_400_000,
    });
    expect(scaledSize("small", "0.5")).toEqual({ ...SIZES.small, users: 10, sessions: 75 });
    for (const bad of ["0", "-1", "abc", "101"]) expect(() => scaledSize("demo", bad)).toThrow(/--scale/);
  });
});
