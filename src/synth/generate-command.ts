// `skipwise generate`: write a synthetic delivery and print what was written.
import { stageProgress } from "../base/progress.ts";
import { parseDefectSpec } from "./defects.ts";
import { parseDriftDay } from "./drift.ts";
import { DEFAULT_SEED, generateDelivery } from "./index.ts";
import {
  DIALECTS,
  type Dialect,
  type GenerateSummary,
  SIZE_NAMES,
  SIZES,
  type SizeName,
  type SizeSpec,
} from "./types.ts";

export interface GenerateCommandOptions {
  out: string;
  size?: string;
  /** Multiplies the size's users and sessions (the catalogue stays): "3" = 3× production's listeners. */
  scale?: string;
  seed?: string;
  dialect?: string;
  defects?: string;
  gzip?: boolean;
  explicitBool?: boolean;
  force?: boolean;
  /** Whole days from the period's first day (0-based) after which P(skip) ignores user and session. */
  driftAt?: string;
  /** Where the summary is printed (default process.stdout). */
  stdout?: NodeJS.WritableStream;
  /** Progress bar target; shown only when it is a TTY (default process.stderr). */
  stderr?: NodeJS.WriteStream;
}

/** The named size, with users and sessions multiplied by --scale (1 = the size itself). */
export function scaledSize(size: SizeName, scale: string | undefined): SizeName | SizeSpec {
  if (scale === undefined || scale === "1") return size;
  const k = Number(scale);
  if (!(Number.isFinite(k) && k > 0 && k <= 100))
    throw new Error(`--scale must be a number in (0, 100], got "${scale}"`);
  const spec = SIZES[size];
  return {
    ...spec,
    users: Math.max(1, Math.round(spec.users * k)),
    sessions: Math.max(1, Math.round(spec.sessions * k)),
  };
}

function parseSeed(text: string | undefined): number {
  if (text === undefined) return DEFAULT_SEED;
  if (!/^-?\d+$/.test(text.trim())) throw new Error(`--seed must be an integer, got "${text}"`);
  return Number(text);
}

export async function runGenerateCommand(options: GenerateCommandOptions): Promise<GenerateSummary> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const size = options.size ?? "demo";
  if (!(SIZE_NAMES as readonly string[]).includes(size)) {
    throw new Error(`--size must be one of ${SIZE_NAMES.join(", ")}, got "${size}"`);
  }
  const dialect = options.dialect ?? "2023L";
  if (!(DIALECTS as readonly string[]).includes(dialect)) {
    throw new Error(`--dialect must be one of ${DIALECTS.join(", ")}, got "${dialect}"`);
  }
  const defects = options.defects ? parseDefectSpec(options.defects) : undefined;
  const driftAt = parseDriftDay(options.driftAt);
  // A bar on a terminal, nothing in logs: stdout carries the summary.
  const progress = stageProgress(stderr, { unit: "sessions", logs: false });
  let summary: GenerateSummary;
  try {
    summary = await generateDelivery({
      out: options.out,
      size: scaledSize(size as SizeName, options.scale),
      seed: parseSeed(options.seed),
      dialect: dialect as Dialect,
      defects,
      gzip: options.gzip ?? false,
      explicitBool: options.explicitBool ?? false,
      force: options.force ?? false,
      driftAt,
      onProgress: stderr.isTTY ? (done, total) => progress.update("generate", done, total) : undefined,
    });
  } finally {
    progress.stop();
  }
  stdout.write(formatSummary(summary));
  return summary;
}

export function formatSummary(summary: GenerateSummary): string {
  const m = summary.manifest;
  const n = (x: number) => x.toLocaleString("en-US");
  const lines = [
    `wrote ${summary.dir} in ${summary.seconds.toFixed(1)} s (seed ${m.seed}, size ${m.size}, dialect ${m.dialect}${m.gzip ? ", gzip" : ""})`,
    `users ${n(m.counts.users)} · artists ${n(m.counts.artists)} · tracks ${n(m.counts.tracks)} · sessions ${n(m.counts.sessions)} · events ${n(m.counts.events)}`,
    `events by kind: ${Object.entries(m.counts.eventsByKind)
      .map(([k, v]) => `${k} ${n(v)}`)
      .join(", ")}`,
    `time range ${m.timeRange.from} .. ${m.timeRange.to}`,
    `plays ${n(m.truth.plays)}, skip share ${(100 * m.truth.skipShare).toFixed(1)} %, mean true P(skip) ${m.truth.meanPSkip.toFixed(3)}, ROC AUC of the true probabilities ${m.truth.rocAuc.toFixed(4)}`,
  ];
  const injected = Object.entries(m.injected).filter(([, v]) => v > 0);
  if (injected.length > 0) {
    lines.push(`injected defects: ${injected.map(([k, v]) => `${k} ${n(v)}`).join(", ")}`);
    lines.push(
      `null_user_id repairable ${n(m.repairable.null_user_id)} / not ${n(m.unrepairable.null_user_id)}; null_track_id repairable ${n(m.repairable.null_track_id)} / not ${n(m.unrepairable.null_track_id)}`,
    );
  }
  const d = m.drift;
  if (d?.applied) {
    lines.push(
      `drift at day ${d.day} (${d.from}): ${n(d.playsAfter)} plays after it skip by track and hour only (intercept offset ${d.interceptOffset.toFixed(3)}); mean true P(skip) ${d.meanPSkipBefore.toFixed(3)} before, ${d.meanPSkipAfter.toFixed(3)} after`,
    );
  } else if (d) {
    lines.push(`drift at day ${d.day} is at or past the end of the ${m.sizes.days}-day period: no drift`);
  }
  lines.push("truth.jsonl holds every play's true P(skip); manifest.json the counts above");
  return `${lines.join("\n")}\n`;
}
