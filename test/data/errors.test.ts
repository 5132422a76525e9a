// Unreadable deliveries throw DeliveryError with one sentence naming the file; `skipwise ingest` turns that
// into a non-zero exit, and on success writes quality.json + quality.txt.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { DeliveryError, loadDelivery } from "../../src/data/index.ts";
import { ev, writeDelivery } from "./fixture.ts";

const SESSIONS = [ev(1, "2023-05-06T07:08:09", 101, "play", "t1")];
const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, "../../bin/skipwise.js");

async function failure(dir: string): Promise<DeliveryError> {
  try {
    await loadDelivery(dir);
  } catch (error) {
    expect(error).toBeInstanceOf(DeliveryError);
    return error as DeliveryError;
  }
  throw new Error("expected a DeliveryError");
}

describe("DeliveryError", () => {
  it("names a missing directory", async () => {
    const e = await failure("/nonexistent/skipwise-delivery");
    expect(e.message).toBe("/nonexistent/skipwise-delivery: delivery directory does not exist");
  });

  it("names a path that is a file, not a directory", async () => {
    const dir = writeDelivery({ sessions: SESSIONS });
    const e = await failure(join(dir, "users.jsonl"));
    expect(e.message).toMatch(/users\.jsonl: is not a directory$/);
  });

  it.each(["users", "artists", "tracks", "sessions"])("names a missing required %s file", async (name) => {
    const dir = writeDelivery({ sessions: SESSIONS });
    rmSync(join(dir, `${name}.jsonl`));
    const e = await failure(dir);
    expect(e.file).toBe(join(dir, `${name}.jsonl`));
    expect(e.message).toContain(
      `required file is missing (neither ${name}.jsonl nor ${name}.jsonl.gz exists)`,
    );
  });

  it("names an empty file and a file of blank lines", async () => {
    const empty = writeDelivery({ sessions: SESSIONS });
    writeFileSync(join(empty, "sessions.jsonl"), "");
    expect((await failure(empty)).message).toBe(`${join(empty, "sessions.jsonl")}: file is empty`);
    const blank = writeDelivery({ sessions: SESSIONS });
    writeFileSync(join(blank, "users.jsonl"), "\n  \n\n");
    expect((await failure(blank)).message).toBe(`${join(blank, "users.jsonl")}: file is empty (no lines)`);
  });

  it("names a binary file", async () => {
    const dir = writeDelivery({ sessions: SESSIONS });
    writeFileSync(
      join(dir, "tracks.jsonl"),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 10, 1, 2, 3]),
    );
    expect((await failure(dir)).message).toBe(
      `${join(dir, "tracks.jsonl")}: is a binary file, not JSONL (it contains NUL bytes)`,
    );
  });

  it("names a CSV file, short or long", async () => {
    const short = writeDelivery({ sessions: SESSIONS });
    writeFileSync(join(short, "sessions.jsonl"), "timestamp,user_id,track_id\n2023-01-01,101,t1\n");
    expect((await failure(short)).message).toBe(
      `${join(short, "sessions.jsonl")}: is not JSONL (no line is a JSON object)`,
    );
    const long = writeDelivery({ sessions: SESSIONS });
    const rows = Array.from({ length: 500 }, (_, i) => `2023-01-01,${i},t1`);
    writeFileSync(join(long, "artists.jsonl"), `id,name,genres\n${rows.join("\n")}\n`);
    expect((await failure(long)).message).toBe(
      `${join(long, "artists.jsonl")}: is not JSONL (none of its first 20 lines is a JSON object)`,
    );
  });

  it("names a corrupt gzip file", async () => {
    const dir = writeDelivery({ sessions: SESSIONS }, ["sessions"]);
    const gz = readFileSync(join(dir, "sessions.jsonl.gz"));
    writeFileSync(
      join(dir, "sessions.jsonl.gz"),
      Buffer.concat([gz.subarray(0, 10), Buffer.from("garbage-garbage")]),
    );
    expect((await failure(dir)).message).toMatch(/sessions\.jsonl\.gz: is not a valid gzip stream/);
  });

  it("refuses a delivery holding both sessions.jsonl and sessions.jsonl.gz", async () => {
    const dir = writeDelivery({ sessions: SESSIONS });
    writeFileSync(join(dir, "sessions.jsonl.gz"), gzipSync("{}\n"));
    expect((await failure(dir)).message).toMatch(/both sessions\.jsonl and sessions\.jsonl\.gz exist/);
  });

  it("follows pointer files and real symlinks, but reads a pointer to nothing as data", async () => {
    const real = writeDelivery({ sessions: SESSIONS });
    const viaPointer = writeDelivery({ sessions: SESSIONS });
    writeFileSync(
      join(viaPointer, "users.jsonl"),
      `${join("..", real.split("/").pop() as string, "users.jsonl")}\n`,
    );
    const d = await loadDelivery(viaPointer);
    expect(d.quality.links).toEqual([
      {
        file: "users.jsonl",
        target: `../${real.split("/").pop()}/users.jsonl`,
        resolved: join(real, "users.jsonl"),
      },
    ]);
    expect(d.catalog.users.size).toBe(2);

    const viaSymlink = writeDelivery({ sessions: SESSIONS });
    rmSync(join(viaSymlink, "users.jsonl"));
    symlinkSync(join(real, "users.jsonl"), join(viaSymlink, "users.jsonl"));
    const s = await loadDelivery(viaSymlink);
    expect(s.catalog.users.size).toBe(2);
    // reported like a pointer file (test/data/symlinks.test.ts has the rest)
    expect(s.quality.links).toEqual([
      { file: "users.jsonl", target: join(real, "users.jsonl"), resolved: join(real, "users.jsonl") },
    ]);

    const dangling = writeDelivery({ sessions: SESSIONS });
    writeFileSync(join(dangling, "users.jsonl"), "../nowhere/users.jsonl");
    expect((await failure(dangling)).message).toMatch(/users\.jsonl: is not JSONL/);
  });

  it("never throws on bad lines inside a readable file", async () => {
    const lines = ["{", "}", "[]", '{"user_id": 1e400}', "💥", '{"a": "\\ud800"}', ...SESSIONS];
    const d = await loadDelivery(writeDelivery({ sessions: lines }));
    expect(d.events.length).toBe(1);
    expect(d.quality.files.sessions?.quarantined).toBe(6);
  });
});

describe("skipwise ingest", () => {
  it("prints the table and writes quality.json and quality.txt", async () => {
    const dir = writeDelivery({ sessions: SESSIONS });
    const out = mkdtempSync(join(tmpdir(), "skipwise-ingest-"));
    const { stdout } = await run("node", [BIN, "ingest", dir, "--out", out]);
    expect(stdout).toContain(`Data-quality report: ${dir}`);
    expect(stdout).toMatch(/^sessions\.jsonl\s+1\s+1\s+0\s+0/m);
    expect(readFileSync(join(out, "quality.txt"), "utf8")).toBe(stdout);
    const json = JSON.parse(readFileSync(join(out, "quality.json"), "utf8"));
    expect(json.counts.events).toBe(1);
    expect(json.defects.null_user_id).toEqual({ found: 0, repaired: 0, quarantined: 0 });
  });

  it("prints JSON with --json", async () => {
    const dir = writeDelivery({ sessions: SESSIONS });
    const out = mkdtempSync(join(tmpdir(), "skipwise-ingest-"));
    const { stdout } = await run("node", [BIN, "ingest", dir, "--out", out, "--json"]);
    expect(JSON.parse(stdout).counts).toMatchObject({ events: 1, users: 2, tracks: 3, artists: 2 });
  });

  it("exits non-zero with one sentence naming the file on a bad delivery", async () => {
    const dir = writeDelivery({ sessions: SESSIONS });
    rmSync(join(dir, "artists.jsonl"));
    const out = join(tmpdir(), `skipwise-never-${process.pid}`);
    const failed = await run("node", [BIN, "ingest", dir, "--out", out]).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toBe(
      `skipwise: ${join(dir, "artists.jsonl")}: required file is missing (neither artists.jsonl nor artists.jsonl.gz exists)\n`,
    );
    expect(existsSync(out)).toBe(false);
  });
});
