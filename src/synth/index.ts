// skipwise synthetic delivery generator: a complete Pozytywka delivery in the real schema, deterministic by
// seed, with a latent skip model whose true probabilities go to truth.jsonl, optional dialects and defects.
import { existsSync, readdirSync, statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { publishDirectory } from "../base/atomic-write.ts";
import { EVENT_KINDS, EventCode } from "../data/types.ts";
import { generateCatalog } from "./catalog.ts";
import {
  type CatalogWriteContext,
  writeArtists,
  writeStorage,
  writeTracks,
  writeUsers,
} from "./catalog-writer.ts";
import { defectRates, InjectionLedger } from "./defects.ts";
import { driftStartMs, planDrift } from "./drift.ts";
import { LineSink } from "./output.ts";
import { Random } from "./random.ts";
import { SessionWriter } from "./session-writer.ts";
import { type DriftModel, simulateSessions } from "./sessions.ts";
import { SKIP_MODEL } from "./skip-model.ts";
import {
  DIALECTS,
  type DriftSummary,
  type GenerateOptions,
  type GenerateSummary,
  type Manifest,
  SIZE_NAMES,
  SIZES,
  type SizeName,
  type SizeSpec,
} from "./types.ts";

export { DEFECT_ELIGIBILITY, INJECTABLE_DEFECTS, parseDefectSpec } from "./defects.ts";
export * from "./types.ts";

export const DEFAULT_SEED = 42;
export const MANIFEST_VERSION = 1;
/** First session id, as in the real deliveries. */
const FIRST_SESSION_ID = 124;

function resolveSize(size: GenerateOptions["size"]): { name: SizeName | "custom"; spec: SizeSpec } {
  if (size === undefined) return { name: "demo", spec: SIZES.demo };
  if (typeof size === "string") {
    if (!(SIZE_NAMES as readonly string[]).includes(size)) {
      throw new Error(`unknown size "${size}"; use one of ${SIZE_NAMES.join(", ")}`);
    }
    return { name: size, spec: SIZES[size] };
  }
  for (const key of ["users", "artists", "tracks", "sessions", "days"] as const) {
    if (!(Number.isInteger(size[key]) && size[key] > 0))
      throw new Error(`size.${key} must be a positive integer`);
  }
  return { name: "custom", spec: { ...size } };
}

function checkOutput(out: string, force: boolean): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new Error(`${out} exists and is not a directory`);
  if (readdirSync(out).length > 0 && !force) {
    throw new Error(`${out} already exists and is not empty (pass --force to replace it)`);
  }
}

/** Writes a complete delivery into `options.out` (atomically: publishDirectory, a temp directory fsynced and renamed). */
export async function generateDelivery(options: GenerateOptions): Promise<GenerateSummary> {
  const started = performance.now();
  const out = resolve(options.out);
  const { name: sizeName, spec: size } = resolveSize(options.size);
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  const dialect = options.dialect ?? "2023L";
  if (!(DIALECTS as readonly string[]).includes(dialect)) {
    throw new Error(`unknown dialect "${dialect}"; use one of ${DIALECTS.join(", ")}`);
  }
  const rates = defectRates(options.defects);
  const gzip = options.gzip ?? false;
  const explicitBool = options.explicitBool ?? false;
  const driftAt = options.driftAt;
  if (driftAt !== undefined && !(Number.isInteger(driftAt) && driftAt >= 0)) {
    throw new Error(`--drift-at must be a whole number of days (0 or more), got ${driftAt}`);
  }
  checkOutput(out, options.force ?? false);

  const manifest = await publishDirectory(out, async (tmp) => {
    const ext = gzip ? ".jsonl.gz" : ".jsonl";
    // Independent streams: the data does not change when only the defects or the dialect change.
    const catalog = generateCatalog(new Random(seed, "catalog"), size);
    const sessionRandom = new Random(seed, "sessions");
    const defectRandom = new Random(seed, "defects");
    const catalogDefectRandom = new Random(seed, "catalog-defects");
    const ledger = new InjectionLedger();
    const takenIds = new Set<string>([...catalog.tracks.id, ...catalog.artists.id]);

    const sinks = {
      sessions: new LineSink(join(tmp, `sessions${ext}`), gzip),
      users: new LineSink(join(tmp, `users${ext}`), gzip),
      artists: new LineSink(join(tmp, `artists${ext}`), gzip),
      tracks: new LineSink(join(tmp, `tracks${ext}`), gzip),
      track_storage: new LineSink(join(tmp, `track_storage${ext}`), gzip),
    };
    const truth = new LineSink(join(tmp, "truth.jsonl"), false);
    const writer = new SessionWriter(
      dialect,
      catalog,
      rates,
      defectRandom,
      ledger,
      sinks.sessions,
      truth,
      takenIds,
    );
    // The drift: applied only when its day falls inside the period; the offset is fitted on a pilot run.
    let drift: DriftModel | undefined;
    let driftSummary: DriftSummary | undefined;
    if (driftAt !== undefined) {
      const atMs = driftStartMs(driftAt);
      const applied = driftAt < size.days;
      if (applied) drift = planDrift(seed, size, atMs, FIRST_SESSION_ID);
      driftSummary = {
        day: driftAt,
        from: new Date(atMs).toISOString(),
        applied,
        interceptOffset: drift?.offset ?? 0,
        playsBefore: 0,
        playsAfter: 0,
        meanPSkipBefore: 0,
        meanPSkipAfter: 0,
      };
    }
    let done = 0;
    const progressEvery = Math.max(1, Math.floor(size.sessions / 200));
    for (const buffer of simulateSessions(sessionRandom, catalog, size, FIRST_SESSION_ID, drift)) {
      writer.write(buffer);
      if (driftSummary) {
        const atMs = Date.parse(driftSummary.from);
        for (let i = 0; i < buffer.length; i++) {
          if (buffer.kind[i] !== EventCode.play) continue;
          if (buffer.timestampMs[i] >= atMs && driftSummary.applied) {
            driftSummary.playsAfter++;
            driftSummary.meanPSkipAfter += buffer.pSkip[i];
          } else {
            driftSummary.playsBefore++;
            driftSummary.meanPSkipBefore += buffer.pSkip[i];
          }
        }
      }
      done++;
      if (sinks.sessions.readyToFlush) await sinks.sessions.maybeFlush();
      if (truth.readyToFlush) await truth.maybeFlush();
      if (options.onProgress && done % progressEvery === 0) options.onProgress(done, size.sessions);
    }
    options.onProgress?.(size.sessions, size.sessions);

    const ctx: CatalogWriteContext = {
      catalog,
      dialect,
      explicitBool,
      rates,
      random: catalogDefectRandom,
      ledger,
      takenIds,
      referencedTracks: writer.stats.referencedTracks,
    };
    await writeUsers(ctx, sinks.users);
    await writeArtists(ctx, sinks.artists);
    await writeTracks(ctx, sinks.tracks);
    await writeStorage(ctx, sinks.track_storage);
    for (const sink of [...Object.values(sinks), truth]) await sink.close();

    const stats = writer.stats;
    const files: Manifest["files"] = {};
    for (const [file, sink] of [...Object.entries(sinks), ["truth", truth] as const]) {
      const name = basename(sink.path);
      files[file] = { name, lines: sink.lines, bytes: statSync(sink.path).size };
    }
    const eventsByKind: Record<string, number> = {};
    EVENT_KINDS.forEach((kind, code) => {
      eventsByKind[kind] = stats.eventsByKind[code];
    });
    let premiumUsers = 0;
    for (let u = 0; u < catalog.users.count; u++) premiumUsers += catalog.users.premiumAtEnd[u];
    const manifest: Manifest = {
      generator: "skipwise-synth",
      version: MANIFEST_VERSION,
      seed,
      size: sizeName,
      sizes: size,
      dialect,
      explicitBool,
      gzip,
      files,
      counts: {
        users: catalog.users.count,
        artists: catalog.artists.count,
        tracks: catalog.tracks.count,
        sessions: stats.sessions,
        events: stats.events,
        eventsByKind,
        premiumUsers,
      },
      timeRange: {
        from: new Date(stats.firstMs).toISOString(),
        to: new Date(stats.lastMs).toISOString(),
      },
      defectRates: Object.fromEntries(Object.entries(rates).filter(([, r]) => r > 0)),
      injected: { ...ledger.injected },
      injectedByFile: ledger.byFile,
      repairable: { ...ledger.repairable },
      unrepairable: { ...ledger.unrepairable },
      truth: {
        plays: stats.plays,
        skips: stats.skips,
        skipShare: stats.plays > 0 ? stats.skips / stats.plays : Number.NaN,
        meanPSkip: stats.plays > 0 ? stats.sumPSkip / stats.plays : Number.NaN,
        rocAuc: stats.auc.value(),
      },
      skipModel: { ...SKIP_MODEL },
    };
    if (driftSummary) {
      const d = driftSummary;
      d.meanPSkipBefore = d.playsBefore > 0 ? d.meanPSkipBefore / d.playsBefore : Number.NaN;
      d.meanPSkipAfter = d.playsAfter > 0 ? d.meanPSkipAfter / d.playsAfter : Number.NaN;
      manifest.drift = d;
    }
    await writeFile(join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  });
  return { dir: out, manifest, seconds: (performance.now() - started) / 1000 };
}
