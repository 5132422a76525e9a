// Fault suite, files (issue 10): corrupt bundles offered to a running service's /admin/reload, bad values in
// a delivery given to `skipwise ingest`, and the insecure defaults a deployment could fall back to. Every
// input is asserted on its own and counted into the fault table (test/faults/table.ts).
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type Delivery, DeliveryError } from "../../src/data/index.ts";
import { runIngestCommand } from "../../src/data/ingest-command.ts";
import { scorerFromBundle } from "../../src/serve/bundle-scorer.ts";
import { MAX_API_KEY_FILE_BYTES, resolveServeConfig, type ServeFlags } from "../../src/serve/config.ts";
import { ev, STORAGE, TRACKS, track, USERS, writeDelivery } from "../data/fixture.ts";
import { REFERENCE_TRACK, type SavedWorld, savedWorld } from "../serve/fixture.ts";
import { type Running, startApp } from "../serve/helpers.ts";
import { countStatus, emptyTally, recordFaults } from "./table.ts";

const REPO = resolve(import.meta.dirname, "../..");
/** A request not answered within this long is a hang. */
const DEADLINE_MS = 20_000;
const KEY = "faults-admin-key-0123456789abcdef";
/** Content of a file outside every bundle: no message may quote it. */
const SECRET = "SECRET-CONTENT-root:x:0:0";
const hasMkfifo = spawnSync("sh", ["-c", "command -v mkfifo"]).status === 0;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

let root: string;
let world: SavedWorld | undefined;
/** One tiny trained world for the whole file (its bundle folder is removed in afterAll). */
const saved = (): SavedWorld => {
  world ??= savedWorld();
  return world;
};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "skipwise-faults-files-"));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  if (world) rmSync(dirname(world.bundleDir), { recursive: true, force: true });
});

class Hang extends Error {}

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers field by field
  body: any;
}

/** One HTTP request with a deadline: a request not answered in DEADLINE_MS throws Hang. */
async function request(url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  try {
    const response = await fetch(url, {
      method: body === undefined ? "GET" : "POST",
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(DEADLINE_MS),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: response.status, body: parsed };
  } catch (error) {
    if ((error as Error).name === "TimeoutError") throw new Hang(`${url}: no answer in ${DEADLINE_MS} ms`);
    throw error;
  }
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe("5 corrupt bundle on reload", () => {
  const tally = emptyTally();
  const MODELS = ["naive", "logistic", "gbdt"] as const;
  let s: Running;
  let dir: string;
  let version: string;
  let baseline: Probe;
  let cases = 0;

  interface Probe {
    version: string;
    bundleDir: string;
    probs: Record<string, number>;
  }

  /** What the service serves: bundle version and folder from /ready, one fixed prediction per model. */
  const probe = async (): Promise<Probe> => {
    const ready = await request(`${s.url}/ready`);
    expect(ready.status).toBe(200);
    const probs: Record<string, number> = {};
    for (const model of MODELS) {
      const r = await request(`${s.url}/v1/predict`, {
        user_id: 101,
        track_id: REFERENCE_TRACK,
        model,
        timestamp_ms: saved().world.endMs,
      });
      expect(r.status, model).toBe(200);
      expect(r.body.model_version).toBe(ready.body.bundle_version);
      probs[model] = r.body.prob_skip;
    }
    return { version: ready.body.bundle_version, bundleDir: ready.body.bundle_dir, probs };
  };

  beforeAll(async () => {
    const w = saved();
    version = w.scorer.bundleVersion;
    dir = join(root, "bundles");
    mkdirSync(dir);
    writeFileSync(join(dir, "secret.json"), `${SECRET}\n`);
    s = await startApp({
      scorer: w.scorer,
      bundleDir: w.bundleDir,
      loadScorer: (bundle) => scorerFromBundle(bundle, w.world.catalog),
      apiKey: KEY,
    });
    baseline = await probe();
    expect(baseline.version).toBe(version);
    for (const model of MODELS) expect(Number.isFinite(baseline.probs[model])).toBe(true);
  });
  afterAll(async () => {
    recordFaults("5 corrupt bundle on reload", tally);
    await s?.close();
  });

  const manifestOf = (b: string) => JSON.parse(readFileSync(join(b, "manifest.json"), "utf8"));
  const writeManifest = (b: string, m: unknown) =>
    writeFileSync(join(b, "manifest.json"), JSON.stringify(m, null, 2));
  /** The manifest re-hashed to vouch for `file` as it now is (a hand edit, or a buggy writer). */
  const rehash = (b: string, file: string) => {
    const bytes = readFileSync(join(b, file));
    const m = manifestOf(b);
    m.files[file] = { sha256: sha256(bytes), bytes: bytes.length };
    writeManifest(b, m);
  };
  const editModel = (b: string, name: string, change: (state: Record<string, unknown>) => void) => {
    const file = join(b, `models/${name}.json`);
    const json = JSON.parse(readFileSync(file, "utf8"));
    change(json.state);
    writeFileSync(file, JSON.stringify(json));
  };
  /** Every weight-like number of a model's state set to null. */
  const nullWeights: Record<(typeof MODELS)[number], (state: Record<string, unknown>) => void> = {
    naive: (state) => {
      state.column = null;
    },
    logistic: (state) => {
      state.weights = (state.weights as unknown[]).map(() => null);
    },
    gbdt: (state) => {
      for (const tree of state.trees as { value: unknown[] }[]) tree.value = tree.value.map(() => null);
    },
  };
  const flip = (b: string, file: string) => {
    const bytes = readFileSync(join(b, file));
    bytes[bytes.length >> 1] ^= 0x01;
    writeFileSync(join(b, file), bytes);
  };
  const halve = (b: string, file: string) => truncateSync(join(b, file), statSync(join(b, file)).size >> 1);
  const fifo = (b: string, file: string) => {
    rmSync(join(b, file));
    execFileSync("mkfifo", [join(b, file)]);
  };
  const pointModelAt = (b: string, path: string) => {
    const m = manifestOf(b);
    m.files[path] = m.files["models/logistic.json"];
    m.models.logistic.file = path;
    writeManifest(b, m);
  };

  interface Tampering {
    name: string;
    tamper: (bundle: string) => void;
    /** What the refusal must say about the file (after "bundle <dir> refused, still serving <version>: "). */
    says: RegExp | ((bundle: string) => RegExp);
    fifo?: string;
    /** The folder offered is not a copy of the bundle (e.g. it does not exist). */
    noCopy?: boolean;
  }

  const notInside = (path: string) => new RegExp(`${JSON.stringify(path)} is not a path inside the bundle`);
  const tamperings: Tampering[] = [
    ...MODELS.map(
      (name): Tampering => ({
        name: `models/${name}.json with its weights null`,
        tamper: (b) => editModel(b, name, nullWeights[name]),
        says: new RegExp(`models/${name}\\.json: (size \\d+ bytes|content hash) does not match the manifest`),
      }),
    ),
    ...MODELS.map(
      (name): Tampering => ({
        name: `models/${name}.json with its weights null, the manifest re-hashed to match`,
        tamper: (b) => {
          editModel(b, name, nullWeights[name]);
          rehash(b, `models/${name}.json`);
        },
        says: new RegExp(`model file models/${name}\\.json cannot be restored: .*null`),
      }),
    ),
    ...[...MODELS.map((name) => `models/${name}.json`), "feature-state.bin"].map(
      (file): Tampering => ({
        name: `a flipped byte in ${file}`,
        tamper: (b) => flip(b, file),
        says: new RegExp(`${file}: content hash does not match the manifest`),
      }),
    ),
    {
      name: "models/gbdt.json truncated to half",
      tamper: (b) => halve(b, "models/gbdt.json"),
      says: /models\/gbdt\.json: size \d+ bytes does not match the manifest's \d+/,
    },
    {
      name: "models/gbdt.json truncated to half, the manifest re-hashed to match",
      tamper: (b) => {
        halve(b, "models/gbdt.json");
        rehash(b, "models/gbdt.json");
      },
      says: /model file models\/gbdt\.json is not valid JSON/,
    },
    {
      name: "feature-state.bin truncated to half",
      tamper: (b) => halve(b, "feature-state.bin"),
      says: /feature-state\.bin: size \d+ bytes does not match the manifest's \d+/,
    },
    {
      name: "feature-state.bin truncated to half, the manifest re-hashed to match",
      tamper: (b) => {
        halve(b, "feature-state.bin");
        rehash(b, "feature-state.bin");
      },
      says: /feature-state snapshot/,
    },
    {
      name: "manifest.json truncated to half",
      tamper: (b) => halve(b, "manifest.json"),
      says: /manifest\.json is not valid JSON/,
    },
    {
      name: 'manifest naming the model file "../../etc/passwd"',
      tamper: (b) => pointModelAt(b, "../../etc/passwd"),
      says: notInside("../../etc/passwd"),
    },
    {
      name: 'manifest naming the model file "../secret.json" (a file that exists next to the bundle)',
      tamper: (b) => pointModelAt(b, "../secret.json"),
      says: notInside("../secret.json"),
    },
    {
      name: "manifest naming the model file by the absolute path /etc/passwd",
      tamper: (b) => pointModelAt(b, "/etc/passwd"),
      says: notInside("/etc/passwd"),
    },
    {
      name: "manifest naming the model file by an absolute path next to the bundle",
      tamper: (b) => pointModelAt(b, join(dirname(b), "secret.json")),
      says: (b) => notInside(join(dirname(b), "secret.json")),
    },
    {
      name: 'manifest featureStateFile "../../etc/passwd"',
      tamper: (b) => {
        const m = manifestOf(b);
        m.featureStateFile = "../../etc/passwd";
        m.files["../../etc/passwd"] = m.files["feature-state.bin"];
        writeManifest(b, m);
      },
      says: notInside("../../etc/passwd"),
    },
    {
      name: "models/logistic.json a symbolic link to /etc/passwd, the manifest vouching for it",
      tamper: (b) => {
        rmSync(join(b, "models/logistic.json"));
        symlinkSync("/etc/passwd", join(b, "models/logistic.json"));
        rehash(b, "models/logistic.json");
      },
      says: /models\/logistic\.json resolves outside the bundle folder \(a symbolic link out of it\?\): refused/,
    },
    {
      name: "models/ a symbolic link to a copy outside the bundle",
      tamper: (b) => {
        const outside = `${b}-models-outside`;
        cpSync(join(b, "models"), outside, { recursive: true });
        rmSync(join(b, "models"), { recursive: true });
        symlinkSync(outside, join(b, "models"));
      },
      says: /models\/\w+\.json resolves outside the bundle folder/,
    },
    ...(["models/gbdt.json", "feature-state.bin", "manifest.json"] as const).map(
      (file): Tampering => ({
        name: `${file} a FIFO`,
        tamper: (b) => fifo(b, file),
        says: new RegExp(`${file} is a FIFO, not a regular file`),
        fifo: file,
      }),
    ),
    {
      name: "a directory in place of models/naive.json",
      tamper: (b) => {
        rmSync(join(b, "models/naive.json"));
        mkdirSync(join(b, "models/naive.json"));
      },
      says: /models\/naive\.json is a directory, not a regular file/,
    },
    {
      name: "models/logistic.json missing",
      tamper: (b) => rmSync(join(b, "models/logistic.json")),
      says: /model file models\/logistic\.json \(model "logistic"\) is missing/,
    },
    {
      name: "feature-state.bin missing",
      tamper: (b) => rmSync(join(b, "feature-state.bin")),
      says: /feature-state\.bin is missing/,
    },
    {
      name: "manifest.json missing",
      tamper: (b) => rmSync(join(b, "manifest.json")),
      says: /manifest\.json is missing/,
    },
    {
      name: "the bundle folder missing",
      tamper: () => {},
      says: /manifest\.json is missing \(no such folder\)/,
      noCopy: true,
    },
    {
      name: "manifest.json not JSON",
      tamper: (b) => writeFileSync(join(b, "manifest.json"), "formatVersion = 2\n[models]\n"),
      says: /manifest\.json is not valid JSON/,
    },
    {
      name: "manifest.json formatVersion 1 (before content hashes)",
      tamper: (b) => writeManifest(b, { ...manifestOf(b), formatVersion: 1 }),
      says: /manifest\.json formatVersion 1 predates content hashes/,
    },
    {
      name: "manifest.json without its files hashes",
      tamper: (b) => {
        const { files: _files, ...rest } = manifestOf(b);
        writeManifest(b, rest);
      },
      says: /manifest\.json field files: /,
    },
    {
      name: "feature-state.bin empty",
      tamper: (b) => writeFileSync(join(b, "feature-state.bin"), ""),
      says: /feature-state\.bin: size 0 bytes does not match the manifest's \d+/,
    },
    {
      name: "feature-state.bin empty, the manifest re-hashed to match",
      tamper: (b) => {
        writeFileSync(join(b, "feature-state.bin"), "");
        rehash(b, "feature-state.bin");
      },
      says: /not a skipwise feature-state snapshot/,
    },
  ];

  /**
   * Were a FIFO ever opened for reading, the open would block the server's (and this test's) thread, where
   * no timer can fire. This child opens the write end once the deadline has passed, which ends such a
   * read with EOF: the request then comes back late and is counted a hang instead of freezing the run.
   */
  const unblocker = (path: string): ChildProcess =>
    spawn(
      process.execPath,
      [
        "-e",
        "setTimeout(() => { const fs = require('node:fs'); fs.closeSync(fs.openSync(process.argv[1], 'w')); }, Number(process.argv[2]))",
        path,
        String(DEADLINE_MS + 2_000),
      ],
      { stdio: "ignore" },
    );

  it("has at least 12 tamperings", () => {
    expect(tamperings.length).toBeGreaterThanOrEqual(12);
  });

  for (const [i, t] of tamperings.entries()) {
    it.skipIf(t.fifo !== undefined && !hasMkfifo)(
      `refuses ${t.name}: 422 naming the file, old bundle and predictions kept`,
      async () => {
        cases++;
        const bundle = join(dir, `case-${i}`);
        if (!t.noCopy) cpSync(saved().bundleDir, bundle, { recursive: true });
        t.tamper(bundle);
        const watchdog = t.fifo ? unblocker(join(bundle, t.fifo)) : undefined;
        let r: Answer;
        let after: Probe;
        try {
          r = await request(`${s.url}/admin/reload`, { bundle }, { "x-api-key": KEY });
          after = await probe();
        } catch (error) {
          if (error instanceof Hang) tally.hangs++;
          tally.tried++;
          throw error;
        } finally {
          watchdog?.kill("SIGKILL");
        }
        countStatus(tally, r.status);
        if (JSON.stringify(after) !== JSON.stringify(baseline)) tally.stateCorrupted++;

        expect(r.status).toBe(422);
        const message: string = r.body.message;
        expect(message).toContain(`bundle ${bundle} refused, still serving ${version}: `);
        expect(message).toMatch(typeof t.says === "function" ? t.says(bundle) : t.says);
        // The refusal names files, never quotes them.
        for (const content of ["root:", SECRET, '"kind"', '"state"', '"arrays"'])
          expect(message).not.toContain(content);
        expect(after).toEqual(baseline);
      },
      4 * DEADLINE_MS,
    );
  }

  it("counted every refusal in the service's metrics, and never swapped a bundle in", async () => {
    const metrics = await request(`${s.url}/metrics`);
    expect(metrics.body).toContain(`skipwise_bundle_reloads_total{result="refused"} ${cases}\n`);
    expect(metrics.body).not.toMatch(/skipwise_bundle_reloads_total\{result="ok"\} [1-9]/);
    expect(tally).toMatchObject({ tried: cases, clean4xx: cases, fivexx: 0, hangs: 0, stateCorrupted: 0 });
  });

  it("still accepts an untouched copy afterwards (the refusals were about the files)", async () => {
    const bundle = join(dir, "untouched");
    cpSync(saved().bundleDir, bundle, { recursive: true });
    const r = await request(`${s.url}/admin/reload`, { bundle }, { "x-api-key": KEY });
    expect(r.status).toBe(200);
    expect(r.body.bundle_version).toBe(version);
    const after = await probe();
    expect(after.probs).toEqual(baseline.probs);
  });
});

describe("7 ingest bad values", () => {
  const tally = emptyTally();
  const SESSIONS = [
    ev(1, "2023-05-06T07:08:09", 101, "play", "t1"),
    ev(1, "2023-05-06T07:08:10", 101, "skip", "t1"),
    ev(2, "2023-05-06T08:00:00", 102, "play", "t2"),
  ];
  /** Valid tracks first, so a NUL byte further down is not taken for a binary file (first 8 KB). */
  const PADDING = Array.from({ length: 60 }, (_, i) => track(`p${i}`, "a2"));
  const GOOD_TRACKS = TRACKS.length + PADDING.length;
  const GOOD_IDS = [...TRACKS, ...PADDING].map((t) => (t as { id: string }).id);
  /** Rows of a delivery that should have been kept and were not: good tracks and listens. */
  const lost = (d: Delivery) =>
    GOOD_IDS.filter((id) => !d.catalog.trackIndex.has(id)).length + SESSIONS.length - d.events.length;
  const BOM = "\uFEFF";
  let n = 0;

  afterAll(() => {
    recordFaults("7 ingest bad values", tally);
  });

  const render = (lines: (string | Record<string, unknown>)[]) =>
    `${lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n")}\n`;

  /** `skipwise ingest` on a delivery: the delivery, quality.txt, and what it printed. */
  async function ingest(
    write: (dir: string) => void,
  ): Promise<{ d: Delivery; text: string; printed: string }> {
    const dir = join(root, `delivery-${++n}`);
    const out = join(root, `ingest-${n}`);
    write(dir);
    let printed = "";
    const stdout = new Writable({
      write(chunk, _encoding, done) {
        printed += String(chunk);
        done();
      },
    });
    const d = await runIngestCommand(dir, { out, stdout, stderr: { isTTY: false } as NodeJS.WriteStream });
    const text = readFileSync(join(out, "quality.txt"), "utf8");
    expect(text).toBe(printed);
    return { d, text, printed };
  }

  /** A track line with `field` written as the raw JSON text `raw` (1e309 reaches JSON.parse as written). */
  function trackLine(id: string, field: string, raw: string): string {
    const o = track(id, "a1");
    const written = `"${field}":${JSON.stringify(o[field])}`;
    const text = JSON.stringify(o);
    expect(text).toContain(written);
    return text.replace(written, `"${field}":${raw}`);
  }

  const reportClean = (text: string) => {
    if (RAW_CONTROL.test(text)) tally.stateCorrupted++;
    expect(text).not.toMatch(RAW_CONTROL);
  };

  const badValues: [field: string, raw: string, detail: string][] = [
    ["duration_ms", "1e308", "duration_ms = 1e+308, not a finite number in (0, 86400000]"],
    ["duration_ms", "1e309", "duration_ms = Infinity, not a finite number in (0, 86400000]"],
    ["duration_ms", "0", "duration_ms = 0, not a finite number in (0, 86400000]"],
    ["duration_ms", "-5", "duration_ms = -5, not a finite number in (0, 86400000]"],
    ["duration_ms", '"abc"', 'duration_ms = "abc", not a finite number in (0, 86400000]'],
    ["duration_ms", "null", "duration_ms = null, not a finite number in (0, 86400000]"],
    ["popularity", "1e9", "popularity = 1000000000, not a finite number in [0, 100]"],
  ];

  for (const [field, raw, detail] of badValues) {
    it(`quarantines ${field} = ${raw} as bad_track_field, naming the field; nothing else lost`, async () => {
      const { d, text } = await ingest((dir) =>
        writeDelivery(
          { tracks: [...TRACKS, ...PADDING, trackLine("t9", field, raw)], sessions: SESSIONS },
          [],
          dir,
        ),
      );
      tally.tried++;
      const refused =
        d.quality.files.tracks?.quarantinedByReason.bad_track_field === 1 && !d.catalog.trackIndex.has("t9");
      if (refused) tally.clean4xx++;
      tally.dataLost += lost(d);
      reportClean(text);

      expect(d.quality.files.tracks).toMatchObject({
        lines: GOOD_TRACKS + 1,
        kept: GOOD_TRACKS,
        quarantined: 1,
      });
      expect(d.quality.files.tracks?.quarantinedByReason).toEqual({ bad_track_field: 1 });
      expect(d.catalog.trackIndex.has("t9")).toBe(false);
      expect(d.events.length).toBe(SESSIONS.length);
      expect(text).toContain(`tracks.jsonl:${GOOD_TRACKS + 1} bad_track_field (${detail}): {"id":"t9"`);
    });
  }

  // Raw NUL / ESC bytes inside the id's JSON string: JSON forbids raw control characters in strings, so the
  // line is quarantined as malformed_json (there is no track to check fields of), shown escaped.
  for (const [name, byte, shown] of [
    ["NUL", "\u0000", "\\x00"],
    ["ESC", "\u001b", "\\x1b"],
  ] as const) {
    it(`quarantines a track whose id holds a raw ${name} byte, and prints it escaped`, async () => {
      const line = JSON.stringify(track("t9", "a1")).replace('"t9"', `"t${byte}9"`);
      expect(line).toContain(byte);
      const { d, text } = await ingest((dir) =>
        writeDelivery({ tracks: [...TRACKS, ...PADDING, line], sessions: SESSIONS }, [], dir),
      );
      tally.tried++;
      const refused =
        d.quality.files.tracks?.quarantined === 1 && d.catalog.tracks.every((t) => !t.id.includes(byte));
      if (refused) tally.clean4xx++;
      tally.dataLost += lost(d);
      reportClean(text);

      expect(d.quality.files.tracks).toMatchObject({
        lines: GOOD_TRACKS + 1,
        kept: GOOD_TRACKS,
        quarantined: 1,
      });
      expect(d.quality.files.tracks?.quarantinedByReason).toEqual({ malformed_json: 1 });
      expect(d.catalog.tracks.some((t) => t.id.includes(byte))).toBe(false);
      expect(text).toContain(`tracks.jsonl:${GOOD_TRACKS + 1} malformed_json: {"id":"t${shown}9"`);
    });
  }

  it("refuses tracks.jsonl with a NUL byte in its first 8 KB as a binary file, naming the file", async () => {
    const line = JSON.stringify(track("t9", "a1")).replace('"t9"', '"t\u00009"');
    let error: unknown;
    try {
      await ingest((dir) => writeDelivery({ tracks: [line, ...TRACKS], sessions: SESSIONS }, [], dir));
    } catch (e) {
      error = e;
    }
    tally.tried++;
    if (error instanceof DeliveryError && /tracks\.jsonl: is a binary file/.test(error.message))
      tally.clean4xx++;
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as Error).message).toMatch(
      /\/tracks\.jsonl: is a binary file, not JSONL \(it contains NUL bytes\)$/,
    );
    expect((error as Error).message).not.toMatch(RAW_CONTROL);
  });

  for (const file of ["users", "sessions"] as const) {
    it(`strips a byte-order mark at the start of ${file}.jsonl: no row lost, a note in the report`, async () => {
      const rows = file === "users" ? USERS : SESSIONS;
      const { d, text } = await ingest((dir) => {
        writeDelivery({ sessions: SESSIONS, track_storage: STORAGE }, [], dir);
        writeFileSync(join(dir, `${file}.jsonl`), BOM + render(rows));
      });
      tally.tried++;
      tally.dataLost += rows.length - (d.quality.files[file]?.kept ?? 0);
      tally.dataLost += SESSIONS.length - d.events.length + USERS.length - d.catalog.users.size;
      reportClean(text);

      expect(d.quality.files[file]).toMatchObject({
        lines: rows.length,
        kept: rows.length,
        quarantined: 0,
        bomStripped: true,
      });
      expect(d.events.length).toBe(SESSIONS.length);
      expect(d.catalog.users.size).toBe(USERS.length);
      expect(text).toContain(`note: ${file}.jsonl began with a UTF-8 byte-order mark (bom_stripped)`);
    });
  }

  it("counted every input: bad tracks refused, no row lost, no raw control character in a report", () => {
    expect(tally.tried).toBe(badValues.length + 2 + 1 + 2);
    expect(tally).toMatchObject({ clean4xx: badValues.length + 2 + 1, dataLost: 0, stateCorrupted: 0 });
  });
});

describe("8 deploy defaults", () => {
  const tally = emptyTally();
  const composeText = readFileSync(join(REPO, "deploy/docker-compose.yml"), "utf8");
  const compose = parse(composeText);
  type Service = {
    environment?: Record<string, string>;
    ports?: string[];
    command?: string[];
    entrypoint?: string[];
  };
  const services = compose.services as Record<string, Service>;
  const b = { bundle: "bundle" };
  let secrets: string;
  let keyed: Running;
  let keyless: Running;

  beforeAll(async () => {
    secrets = join(root, "deploy-secrets");
    execFileSync("sh", [join(REPO, "deploy/make-secrets.sh"), secrets], { encoding: "utf8" });
    const w = saved();
    keyed = await startApp({ scorer: w.scorer, bundleDir: w.bundleDir, apiKey: KEY });
    keyless = await startApp({ scorer: w.scorer, bundleDir: w.bundleDir });
  });
  afterAll(async () => {
    recordFaults("8 deploy defaults", tally);
    await keyed?.close();
    await keyless?.close();
  });

  /** One insecure input: tried; a clean refusal when `refused` holds. */
  const check = (refused: boolean) => {
    tally.tried++;
    if (refused) tally.clean4xx++;
    expect(refused).toBe(true);
  };
  const file = (name: string, content: string) => {
    const path = join(root, `key-${name}`);
    writeFileSync(path, content);
    return path;
  };
  /** Compose's `${VAR:-default}` with VAR unset, and `$$` as a literal `$`. */
  const interpolate = (text: string, env: Record<string, string> = {}) =>
    text
      .replace(/\$\{(\w+):-([^}]*)\}/g, (_, name: string, fallback: string) => env[name] || fallback)
      .replace(/\$\$/g, "$");
  /** Runs a compose shell script with the real start (npm ci / Grafana's /run.sh) replaced by a marker. */
  const runGuard = (script: string, env: Record<string, string>) =>
    spawnSync("sh", ["-c", script], {
      env: { PATH: process.env.PATH, ...env },
      encoding: "utf8",
      timeout: 10_000,
    });

  it("has no literal API key or password in any service's environment, only /run/secrets files", () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        if (!/KEY|PASSWORD|SECRET|TOKEN/.test(variable)) continue;
        check(/^\/run\/secrets\/\w+$/.test(String(value)) && variable.endsWith("_FILE"));
        expect(value, `${name} ${variable}`).toMatch(/^\/run\/secrets\/\w+$/);
      }
    }
    check(services.skipwise.environment?.SKIPWISE_API_KEY === undefined);
    check(!/change-?me|:-[^}\n]*(key|secret|password)/i.test(composeText));
  });

  it("has no admin/admin: Grafana's password is a secret file, never its built-in default", () => {
    const env = services.grafana.environment ?? {};
    check(env.GF_SECURITY_ADMIN_PASSWORD === undefined);
    check(env.GF_SECURITY_ADMIN_PASSWORD__FILE === "/run/secrets/grafana_admin_password");
    check(!/admin\s*\/\s*admin|PASSWORD:\s*admin\b/i.test(composeText));
    expect(compose.secrets.grafana_admin_password.file).toBe("./secrets/grafana_admin_password");
  });

  it("publishes every port on 127.0.0.1 unless SKIPWISE_BIND says otherwise", () => {
    const ports = Object.entries(services).flatMap(([name, s]) => (s.ports ?? []).map((p) => [name, p]));
    expect(ports.length).toBe(3);
    for (const [name, port] of ports) {
      const [host, published, target] = interpolate(port).split(":");
      check(host === "127.0.0.1");
      expect({ name, host }).toEqual({ name, host: "127.0.0.1" });
      expect(Number(published)).toBe(Number(target));
      expect(interpolate(port, { SKIPWISE_BIND: "0.0.0.0" }).startsWith("0.0.0.0:")).toBe(true);
    }
  });

  it("the service's command refuses to start without a non-empty key file, naming it", () => {
    const command = services.skipwise.command ?? [];
    expect(command.slice(0, 2)).toEqual(["sh", "-c"]);
    const script = interpolate(command[2]);
    const start = script.indexOf("npm ci");
    expect(start).toBeGreaterThan(0);
    const guard = `${script.slice(0, start)} echo started`;
    for (const path of [join(root, "no-such-key"), file("compose-empty", "")]) {
      const r = runGuard(guard, { SKIPWISE_API_KEY_FILE: path });
      check(r.status === 1 && r.stdout === "" && r.stderr.includes(path));
      expect(r.stderr).toContain(`skipwise: ${path} is missing or empty: run deploy/make-secrets.sh`);
    }
    const good = runGuard(guard, { SKIPWISE_API_KEY_FILE: join(secrets, "skipwise_api_key") });
    expect({ status: good.status, stdout: good.stdout.trim() }).toEqual({ status: 0, stdout: "started" });
  });

  it("Grafana's entrypoint refuses to start without a non-empty password file", () => {
    const entrypoint = services.grafana.entrypoint ?? [];
    expect(entrypoint.slice(0, 2)).toEqual(["sh", "-c"]);
    const script = interpolate(entrypoint[2]);
    expect(script).toContain("f=/run/secrets/grafana_admin_password;");
    expect(script).toMatch(/exec \/run\.sh$/);
    const guard = (path: string) =>
      script
        .replace("f=/run/secrets/grafana_admin_password;", `f=${JSON.stringify(path)};`)
        .replace(/exec \/run\.sh$/, "echo started");
    for (const path of [join(root, "no-such-password"), file("grafana-empty", "")]) {
      const r = runGuard(guard(path), {});
      check(r.status === 1 && r.stdout === "" && r.stderr.includes(path));
    }
    const good = runGuard(guard(join(secrets, "grafana_admin_password")), {});
    expect({ status: good.status, stdout: good.stdout.trim() }).toEqual({ status: 0, stdout: "started" });
  });

  it("make-secrets.sh writes a random key the service reads with --api-key-file, private to its owner", () => {
    const keyFile = join(secrets, "skipwise_api_key");
    const key = readFileSync(keyFile, "utf8");
    expect(key).toMatch(/^[0-9a-f]{64}\n$/);
    expect(statSync(secrets).mode & 0o777).toBe(0o700);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(resolveServeConfig({ ...b, apiKeyFile: keyFile }, {}).apiKey).toBe(key.trim());
    expect(resolveServeConfig(b, { SKIPWISE_API_KEY_FILE: keyFile }).apiKey).toBe(key.trim());
    expect(readFileSync(join(secrets, "grafana_admin_password"), "utf8")).not.toBe(key);
  });

  const SHORT = "short-key";
  const refusals: [
    name: string,
    flags: () => ServeFlags,
    env: NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv),
    says: RegExp,
  ][] = [
    ["a short --api-key", () => ({ ...b, apiKey: SHORT }), {}, /^--api-key: .*at least 16 characters/],
    ["a short $SKIPWISE_API_KEY", () => b, { SKIPWISE_API_KEY: SHORT }, /^\$SKIPWISE_API_KEY: .*at least 16/],
    [
      "a short key in --api-key-file",
      () => ({ ...b, apiKeyFile: file("short", `${SHORT}\n`) }),
      {},
      /^--api-key-file ".*key-short": .*at least 16 characters/,
    ],
    [
      "a short key in $SKIPWISE_API_KEY_FILE",
      () => b,
      () => ({ SKIPWISE_API_KEY_FILE: file("short-env", SHORT) }),
      /^\$SKIPWISE_API_KEY_FILE ".*": .*at least 16/,
    ],
    ["an empty --api-key", () => ({ ...b, apiKey: "" }), {}, /^--api-key: .*at least 16 characters/],
    ["an empty key file", () => ({ ...b, apiKeyFile: file("empty", "") }), {}, /the API key file is empty/],
    [
      "a key file of a newline",
      () => ({ ...b, apiKeyFile: file("nl", "\n") }),
      {},
      /the API key file is empty/,
    ],
    [
      "a key padded with spaces",
      () => ({ ...b, apiKey: ` ${"k".repeat(20)} ` }),
      {},
      /starts or ends with whitespace/,
    ],
    [
      "a key file of two lines",
      () => ({ ...b, apiKeyFile: file("lines", `${KEY}\n${KEY}\n`) }),
      {},
      /must be a single line/,
    ],
    [
      "a key file over 4 KB",
      () => ({ ...b, apiKeyFile: file("big", "k".repeat(MAX_API_KEY_FILE_BYTES + 1)) }),
      {},
      /larger than 4096 bytes/,
    ],
    [
      "a missing key file",
      () => ({ ...b, apiKeyFile: join(root, "missing-key") }),
      {},
      /^--api-key-file ".*missing-key": cannot read the API key file: ENOENT/,
    ],
    [
      "a folder as key file",
      () => {
        const folder = join(root, "key-folder");
        if (!existsSync(folder)) mkdirSync(folder);
        return { ...b, apiKeyFile: folder };
      },
      {},
      /cannot read the API key file: EISDIR/,
    ],
    [
      "both --api-key and --api-key-file",
      () => ({ ...b, apiKey: KEY, apiKeyFile: file("both", KEY) }),
      {},
      /give one, not both/,
    ],
    [
      "both $SKIPWISE_API_KEY and $SKIPWISE_API_KEY_FILE",
      () => b,
      { SKIPWISE_API_KEY: KEY, SKIPWISE_API_KEY_FILE: "/dev/null" },
      /both set: set one/,
    ],
  ];

  for (const [name, flags, env, says] of refusals) {
    it(`resolveServeConfig refuses ${name}, naming the source, never the key`, () => {
      let message: string | undefined;
      try {
        resolveServeConfig(flags(), typeof env === "function" ? env() : env);
      } catch (error) {
        message = (error as Error).message;
      }
      check(
        message !== undefined && says.test(message) && !message.includes(SHORT) && !message.includes(KEY),
      );
      expect(message).toMatch(says);
    });
  }

  it("the service's admin routes are closed, not open, when no key is configured", async () => {
    const r = await request(`${keyless.url}/admin/reload`, {}, { "x-api-key": "" });
    countStatus(tally, r.status);
    expect(r.status).toBe(403);
    expect(r.body.message).toBe("admin routes are disabled: start the server with an API key");
    for (const given of [KEY, "admin"]) {
      const r2 = await request(`${keyless.url}/admin/reload`, {}, { "x-api-key": given });
      countStatus(tally, r2.status);
      expect(r2.status).toBe(403);
    }
  });

  it("refuses a reload without the key, or with a wrong one (admin, a prefix, another case)", async () => {
    const wrong: Record<string, string>[] = [
      {},
      { "x-api-key": "admin" },
      { "x-api-key": KEY.slice(0, -1) },
      { "x-api-key": KEY.toUpperCase() },
    ];
    for (const headers of wrong) {
      const r = await request(`${keyed.url}/admin/reload`, {}, headers);
      countStatus(tally, r.status);
      expect(r.status).toBe(401);
    }
    const ready = await request(`${keyed.url}/ready`);
    expect(ready.body.bundle_version).toBe(saved().scorer.bundleVersion);
  });

  it("refused every insecure input", () => {
    expect(tally.tried).toBeGreaterThanOrEqual(30);
    expect(tally).toMatchObject({ clean4xx: tally.tried, fivexx: 0, hangs: 0 });
  });
});
