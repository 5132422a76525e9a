// A real symlink in a delivery is followed and reported exactly like a pointer file (issue 9, item 7): on a
// normal checkout 2023L-v1-defects/tracks.jsonl is a symlink, on others a 24-byte pointer file, and the
// quality report must not tell the two apart. Every folder here is built in os.tmpdir().
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Delivery, DeliveryError, formatQualityReport, loadDelivery } from "../../src/data/index.ts";
import { SHARED_POZYTYWKA, sharedDelivery } from "../helpers/shared-data.ts";
import {
  buildV1DefectsCheckout,
  TRACKS_LINK_TARGET,
  type V1DefectsCheckout,
} from "../helpers/v1-defects-checkouts.ts";
import { ev, writeDelivery } from "./fixture.ts";

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, "../../bin/skipwise.js");
const SESSIONS = [ev(1, "2023-05-06T07:08:09", 101, "play", "t1")];

/** The report as JSON with the folder it was read from replaced by `<root>`, to compare two locations. */
function portable(report: unknown, root: string): string {
  return JSON.stringify(report, null, 2).split(root).join("<root>");
}

async function failure(dir: string): Promise<DeliveryError> {
  try {
    await loadDelivery(dir);
  } catch (error) {
    expect(error).toBeInstanceOf(DeliveryError);
    return error as DeliveryError;
  }
  throw new Error("expected a DeliveryError");
}

describe("2023L-v1-defects with tracks.jsonl as a real symlink", () => {
  let pointer: V1DefectsCheckout;
  let symlink: V1DefectsCheckout;
  let viaPointer: Delivery;
  let viaSymlink: Delivery;
  beforeAll(async () => {
    pointer = buildV1DefectsCheckout("pointer file");
    symlink = buildV1DefectsCheckout("symlink");
    [viaPointer, viaSymlink] = await Promise.all([loadDelivery(pointer.dir), loadDelivery(symlink.dir)]);
  });
  afterAll(() => {
    pointer?.cleanup();
    symlink?.cleanup();
  });

  it("builds what the two checkouts hold", () => {
    expect(readFileSync(join(pointer.dir, "tracks.jsonl"), "utf8")).toBe(TRACKS_LINK_TARGET);
    expect(readFileSync(join(pointer.dir, "tracks.jsonl")).length).toBe(24);
    const link = join(symlink.dir, "tracks.jsonl");
    expect(readFileSync(link).length).toBeGreaterThan(1_000_000); // the OS follows it to the catalogue
  });

  it("reports the symlink with the pointer file's entry, wording and note", () => {
    const resolved = join(symlink.root, "2023L-v2", "tracks.jsonl");
    expect(viaSymlink.quality.links).toEqual([
      { file: "tracks.jsonl", target: TRACKS_LINK_TARGET, resolved },
    ]);
    expect(viaSymlink.quality.notes).toEqual([`tracks.jsonl is a pointer file; read ${resolved} instead`]);
    expect(viaSymlink.quality.files.tracks?.path).toBe(resolved);
    const text = formatQualityReport(viaSymlink.quality);
    expect(text).toContain(`Pointer files followed\ntracks.jsonl -> ${TRACKS_LINK_TARGET} (${resolved})\n`);
  });

  it("gives the same quality report, catalogue and events as the pointer file", () => {
    expect(portable(viaSymlink.quality, symlink.root)).toBe(portable(viaPointer.quality, pointer.root));
    expect(formatQualityReport(viaSymlink.quality).split(symlink.root).join("<root>")).toBe(
      formatQualityReport(viaPointer.quality).split(pointer.root).join("<root>"),
    );
    expect(viaSymlink.catalog).toEqual(viaPointer.catalog);
    expect(viaSymlink.events).toEqual(viaPointer.events);
  });

  it("gives the same report as this checkout of ../shared, whichever kind it is", async () => {
    const shared = await loadDelivery(sharedDelivery("2023L-v1-defects"));
    expect(portable(viaSymlink.quality, symlink.root)).toBe(portable(shared.quality, SHARED_POZYTYWKA));
  });

  it("`skipwise ingest --json` prints that report", async () => {
    const out = mkdtempSync(join(tmpdir(), "skipwise-ingest-"));
    try {
      const { stdout } = await run(process.execPath, [BIN, "ingest", symlink.dir, "--json", "--out", out]);
      expect(stdout.split(symlink.root).join("<root>")).toBe(
        `${portable(viaPointer.quality, pointer.root)}\n`,
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("symlinks in small deliveries", () => {
  const made: string[] = [];
  const delivery = (...args: Parameters<typeof writeDelivery>) => {
    const dir = writeDelivery(...args);
    made.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  it("resolves a relative target against the link's folder and reports it like a pointer file", async () => {
    const real = delivery({ sessions: SESSIONS });
    const target = `../${basename(real)}/users.jsonl`;
    const viaPointer = delivery({ sessions: SESSIONS });
    writeFileSync(join(viaPointer, "users.jsonl"), target);
    const viaSymlink = delivery({ sessions: SESSIONS });
    rmSync(join(viaSymlink, "users.jsonl"));
    symlinkSync(target, join(viaSymlink, "users.jsonl")); // relative to viaSymlink, not to the cwd
    expect(resolve(target)).not.toBe(join(real, "users.jsonl"));

    const p = await loadDelivery(viaPointer);
    const s = await loadDelivery(viaSymlink);
    const resolved = join(real, "users.jsonl");
    expect(s.quality.links).toEqual([{ file: "users.jsonl", target, resolved }]);
    expect(s.quality.notes).toEqual([`users.jsonl is a pointer file; read ${resolved} instead`]);
    expect(s.quality.files.users?.path).toBe(resolved);
    expect(portable(s.quality, viaSymlink)).toBe(portable(p.quality, viaPointer));
    expect(s.catalog).toEqual(p.catalog);
  });

  it("follows and reports a chain of a symlink and a pointer file hop by hop", async () => {
    const real = delivery({ sessions: SESSIONS });
    const dir = delivery({ sessions: SESSIONS });
    writeFileSync(join(dir, "users-pointer.txt"), `../${basename(real)}/users.jsonl`);
    rmSync(join(dir, "users.jsonl"));
    symlinkSync("users-pointer.txt", join(dir, "users.jsonl"));
    const d = await loadDelivery(dir);
    expect(d.quality.links).toEqual([
      { file: "users.jsonl", target: "users-pointer.txt", resolved: join(dir, "users-pointer.txt") },
      {
        file: join(dir, "users-pointer.txt"),
        target: `../${basename(real)}/users.jsonl`,
        resolved: join(real, "users.jsonl"),
      },
    ]);
    expect(d.catalog.users.size).toBe(2);
  });

  it("follows a symlinked .jsonl.gz and still recognises the gzip", async () => {
    const real = delivery({ sessions: SESSIONS }, ["sessions"]);
    const dir = delivery({ sessions: SESSIONS });
    rmSync(join(dir, "sessions.jsonl"));
    symlinkSync(join(real, "sessions.jsonl.gz"), join(dir, "sessions.jsonl.gz"));
    const d = await loadDelivery(dir);
    expect(d.quality.files.sessions).toMatchObject({ name: "sessions.jsonl.gz", gzip: true, lines: 1 });
    expect(d.quality.links).toEqual([
      {
        file: "sessions.jsonl.gz",
        target: join(real, "sessions.jsonl.gz"),
        resolved: join(real, "sessions.jsonl.gz"),
      },
    ]);
    expect(d.events.length).toBe(1);
  });

  it("names the file of a dangling symlink instead of calling it missing", async () => {
    const dir = delivery({ sessions: SESSIONS });
    rmSync(join(dir, "tracks.jsonl"));
    symlinkSync("../nowhere/tracks.jsonl", join(dir, "tracks.jsonl"));
    expect((await failure(dir)).message).toBe(
      `${join(dir, "tracks.jsonl")}: is a symlink to ../nowhere/tracks.jsonl, which does not exist ` +
        `(dangling link to ${resolve(dir, "../nowhere/tracks.jsonl")})`,
    );
  });

  it("refuses a dangling optional track_storage rather than treating it as absent", async () => {
    const dir = delivery({ sessions: SESSIONS, track_storage: null });
    symlinkSync("gone.jsonl", join(dir, "track_storage.jsonl"));
    expect((await failure(dir)).message).toMatch(
      /track_storage\.jsonl: is a symlink to gone\.jsonl, which does not exist/,
    );
  });

  it("names the delivery's file when a later hop dangles", async () => {
    const dir = delivery({ sessions: SESSIONS });
    rmSync(join(dir, "users.jsonl"));
    symlinkSync("hop.jsonl", join(dir, "users.jsonl"));
    symlinkSync("gone.jsonl", join(dir, "hop.jsonl"));
    expect((await failure(dir)).message).toBe(
      `${join(dir, "users.jsonl")}: leads to ${join(dir, "hop.jsonl")}, a symlink, to gone.jsonl, which ` +
        `does not exist (dangling link to ${join(dir, "gone.jsonl")})`,
    );
  });

  it("stops on a symlink loop", async () => {
    const dir = delivery({ sessions: SESSIONS });
    rmSync(join(dir, "users.jsonl"));
    symlinkSync("users.jsonl", join(dir, "users.jsonl"));
    expect((await failure(dir)).message).toMatch(
      /users\.jsonl: symlinks or pointer files chain more than 8 times/,
    );
  });

  it("refuses a symlink to a folder", async () => {
    const dir = delivery({ sessions: SESSIONS });
    mkdirSync(join(dir, "folder"));
    rmSync(join(dir, "users.jsonl"));
    symlinkSync("folder", join(dir, "users.jsonl"));
    expect((await failure(dir)).message).toBe(`${join(dir, "users.jsonl")}: is not a regular file`);
  });

  it("leaves a plain data file unreported", async () => {
    const d = await loadDelivery(delivery({ sessions: SESSIONS }));
    expect(d.quality.links).toEqual([]);
    expect(d.quality.notes).toEqual([]);
  });
});
