// The data-quality report of one delivery: the defect taxonomy shared with src/synth, per-file outcomes,
// join integrity, event mix, time range and the examples of quarantined lines.
import { EVENT_KINDS, type EventKind } from "./types.ts";

/** Defects of one sessions.jsonl row in its fields (as opposed to malformed or repeated lines). */
export const SESSION_ROW_DEFECTS = [
  "null_user_id",
  "null_event_type",
  "unknown_event_type",
  "null_track_id",
  "bad_timestamp",
  "unknown_user",
  "unknown_track",
  "null_session_id",
] as const;

/**
 * Defect kinds. The first 18 are the taxonomy agreed with the generator (src/synth injects them);
 * the last three cover catalogue problems the taxonomy does not name. Every kind is always present in
 * `QualityReport.defects` (0 when absent).
 */
export const DEFECT_KINDS = [
  // sessions
  "malformed_json",
  "duplicate_row",
  ...SESSION_ROW_DEFECTS,
  // users
  "null_favourite_genres",
  "null_premium_user",
  // artists
  "null_artist_genres",
  "bad_artist_id",
  // tracks
  "unknown_artist",
  "bad_track_field",
  // additions beyond the shared taxonomy
  "bad_user_id",
  "bad_storage_field",
  "duplicate_id",
] as const;
export type DefectKind = (typeof DEFECT_KINDS)[number];

/** The files of a delivery, in reading order. */
export const DELIVERY_FILES = ["users", "artists", "tracks", "track_storage", "sessions"] as const;
export type DeliveryFile = (typeof DELIVERY_FILES)[number];

/** Repairs the loader applies. Each names the defect it repairs; nothing else is ever repaired. */
export const REPAIR_RULES = [
  {
    id: "user_from_session",
    defect: "null_user_id",
    description:
      "a session event with a null/empty user_id takes the user of its session when every other event of that session (in the whole file) names one and the same user",
  },
  {
    id: "track_from_preceding_play",
    defect: "null_track_id",
    description:
      "a skip or like with a null/empty track_id takes the track of the preceding event of the same session (file order) when that event is a play of a catalogue track",
  },
  {
    id: "favourite_genres_empty",
    defect: "null_favourite_genres",
    description:
      "a user whose favourite_genres is null, missing or not a list is kept with no favourite genres",
  },
  {
    id: "premium_unknown",
    defect: "null_premium_user",
    description:
      "a user whose premium_user is null, missing or not a boolean/0/1 is kept with premium = null",
  },
  {
    id: "artist_genres_empty",
    defect: "null_artist_genres",
    description: "an artist whose genres is null, missing or not a list is kept with no genres",
  },
] as const satisfies readonly { id: string; defect: DefectKind; description: string }[];
export type RepairRuleId = (typeof REPAIR_RULES)[number]["id"];

export interface DefectCount {
  /** Rows exhibiting the defect (a row can exhibit several). */
  found: number;
  /** Rows kept after this defect's repair rule fixed them. */
  repaired: number;
  /** Rows dropped with this defect as their reason (one reason per dropped row, see QUARANTINE_ORDER). */
  quarantined: number;
}

/** Outcome counts of one file. `kept + repaired + quarantined` = non-blank lines. */
export interface FileQuality {
  file: DeliveryFile;
  /** File name as found in the delivery folder (e.g. `sessions.jsonl.gz`). */
  name: string;
  /** Path actually read (differs from `name` when a symlink or pointer file was followed). */
  path: string;
  gzip: boolean;
  bytes: number;
  /** sha256 (hex) of the file's bytes as stored (compressed for gzip), computed while it was read. */
  sha256: string;
  /** The file began with a UTF-8 byte-order mark, which was stripped (a note, not a defect: no row is lost). */
  bomStripped: boolean;
  lines: number;
  blankLines: number;
  /** Rows kept unchanged. */
  kept: number;
  /** Rows kept after at least one repair. */
  repaired: number;
  quarantined: number;
  repairedByRule: Partial<Record<RepairRuleId, number>>;
  quarantinedByReason: Partial<Record<DefectKind, number>>;
}

export interface QuarantineExample {
  file: string;
  line: number;
  reason: DefectKind;
  excerpt: string;
  /** What exactly is wrong, when the reader knows (e.g. `duration_ms = 1e+308, not a finite number in (0, 86400000]`). */
  detail?: string;
}

/**
 * One symlink or pointer file followed. Both are reported identically (a pointer file is a symlink that lost
 * its link bit on some checkouts), so the report does not depend on how the delivery was checked out.
 */
export interface LinkFollowed {
  file: string;
  /** Path as written: the pointer file's content, or the symlink's target (`readlink`). */
  target: string;
  /** `target` resolved against the folder of the link. */
  resolved: string;
}

export interface QualityReport {
  version: 1;
  dir: string;
  files: { [F in DeliveryFile]: FileQuality | null };
  defects: Record<DefectKind, DefectCount>;
  repairRules: { id: RepairRuleId; defect: DefectKind; description: string }[];
  joins: {
    /** Session events naming a user missing from users.jsonl (quarantined as unknown_user). */
    eventsUnknownUser: number;
    /** Session events naming a track missing from tracks.jsonl (quarantined as unknown_track). */
    eventsUnknownTrack: number;
    /** Tracks whose id_artist is missing from artists.jsonl (kept). */
    tracksUnknownArtist: number;
    /** track_storage rows whose track is missing from tracks.jsonl (kept). */
    storageWithoutTrack: number;
    /** Catalogue tracks without a track_storage row (0 when there is no track_storage file). */
    tracksWithoutStorage: number;
    /** Users of users.jsonl with no kept session event. */
    usersWithoutEvents: number;
  };
  /** Kept session events per normalised kind. */
  eventTypes: Record<EventKind, number>;
  timeRange: { firstMs: number; lastMs: number; first: string; last: string } | null;
  counts: {
    events: number;
    sessions: number;
    users: number;
    tracks: number;
    artists: number;
    storage: number;
  };
  links: LinkFollowed[];
  dialect: {
    /** Event-type spellings seen (parsed rows), e.g. `{ "PLAY": 10229, "advertisment": 3736 }`. */
    eventTypeSpellings: Record<string, number>;
    timestampForms: Record<string, number>;
    releaseDateForms: Record<string, number>;
    explicitForms: Record<string, number>;
    storageClassSpellings: Record<string, number>;
    /** Rows with keys beyond the schema, per file. */
    extraKeyRows: Partial<Record<DeliveryFile, number>>;
    /** Session lines decoded by the hand-written fast path (the rest went through JSON.parse). */
    sessionsFastPathLines: number;
  };
  /** The first examples of every quarantine reason (at most EXAMPLES_PER_REASON each). */
  examples: QuarantineExample[];
  notes: string[];
}

export const EXAMPLES_PER_REASON = 20;
const EXCERPT_CHARS = 160;

export function emptyDefects(): Record<DefectKind, DefectCount> {
  const defects = {} as Record<DefectKind, DefectCount>;
  for (const kind of DEFECT_KINDS) defects[kind] = { found: 0, repaired: 0, quarantined: 0 };
  return defects;
}

export function emptyEventTypes(): Record<EventKind, number> {
  const counts = {} as Record<EventKind, number>;
  for (const kind of EVENT_KINDS) counts[kind] = 0;
  return counts;
}

/** Per-file bookkeeping shared by all readers: outcomes, defect counts and examples. */
export class FileTally {
  readonly quality: FileQuality;
  constructor(
    file: DeliveryFile,
    name: string,
    path: string,
    gzip: boolean,
    bytes: number,
    private readonly defects: Record<DefectKind, DefectCount>,
    private readonly examples: QuarantineExample[],
    private readonly exampleCounts: Map<DefectKind, number>,
  ) {
    this.quality = {
      file,
      name,
      path,
      gzip,
      bytes,
      sha256: "",
      bomStripped: false,
      lines: 0,
      blankLines: 0,
      kept: 0,
      repaired: 0,
      quarantined: 0,
      repairedByRule: {},
      quarantinedByReason: {},
    };
  }

  found(kind: DefectKind): void {
    this.defects[kind].found++;
  }

  kept(): void {
    this.quality.kept++;
  }

  repaired(rules: readonly RepairRuleId[]): void {
    this.quality.repaired++;
    for (const rule of rules) {
      this.quality.repairedByRule[rule] = (this.quality.repairedByRule[rule] ?? 0) + 1;
      const defect = REPAIR_RULES.find((r) => r.id === rule)?.defect as DefectKind;
      this.defects[defect].repaired++;
    }
  }

  quarantined(reason: DefectKind, line: number, excerpt: () => string, detail?: string): void {
    this.quality.quarantined++;
    this.quality.quarantinedByReason[reason] = (this.quality.quarantinedByReason[reason] ?? 0) + 1;
    this.defects[reason].quarantined++;
    const shown = this.exampleCounts.get(reason) ?? 0;
    if (shown < EXAMPLES_PER_REASON) {
      this.exampleCounts.set(reason, shown + 1);
      const example: QuarantineExample = { file: this.quality.name, line, reason, excerpt: clip(excerpt()) };
      if (detail !== undefined) example.detail = detail;
      this.examples.push(example);
    }
  }
}

function clip(text: string): string {
  const line = text.replace(/\r?\n$/, "");
  return line.length > EXCERPT_CHARS ? `${line.slice(0, EXCERPT_CHARS - 1)}…` : line;
}

/** The note the report carries for a file whose leading byte-order mark was stripped. */
export function bomNote(name: string): string {
  return `${name} began with a UTF-8 byte-order mark (bom_stripped): stripped, no row lost`;
}

// ---------------------------------------------------------------------------------------------------
// Rendering

/**
 * Characters the text report never prints raw, whatever a delivery holds: C0 controls (NUL, ESC, TAB, CR, LF
 * ...), DEL, C1 controls and the Unicode line/paragraph separators. They would corrupt a terminal or split a
 * report line. quality.json needs none of this: JSON.stringify escapes what JSON requires.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * `text` with every UNPRINTABLE character as a visible escape: `\xNN` up to U+00FF, `\uNNNN` beyond. `\x`
 * is not a JSON escape, so in an excerpt it always means a raw byte of the line, never an escape it spelt.
 */
export function visible(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

const int = (n: number): string => n.toLocaleString("en-US");

/** Fixed-width table; `align` has one letter per column, `l` or `r` (default: first left, rest right). */
function table(headers: string[], rows: (string | number)[][], align = "l"): string {
  const cells = rows.map((row) => row.map((c) => (typeof c === "number" ? int(c) : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const fmt = (row: string[]) =>
    row
      .map((c, i) => ((align[i] ?? "r") === "l" ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [fmt(headers), rule, ...cells.map(fmt)].join("\n");
}

/**
 * A readable fixed-width rendering of the report (what `skipwise ingest` prints and writes to quality.txt).
 * Every string taken from the delivery (paths, excerpts, spellings, notes) goes through `visible`, and a last
 * pass escapes anything else, so the text holds no control character but its own line breaks.
 */
export function formatQualityReport(report: QualityReport): string {
  const out: string[] = [];
  out.push(`Data-quality report: ${visible(report.dir)}`);
  out.push("");
  const c = report.counts;
  out.push(
    `events ${int(c.events)} · sessions ${int(c.sessions)} · users ${int(c.users)} · tracks ${int(c.tracks)} · artists ${int(c.artists)} · storage rows ${int(c.storage)}`,
  );
  if (report.timeRange) out.push(`time range ${report.timeRange.first} .. ${report.timeRange.last} (UTC)`);
  out.push("");

  out.push("Files (lines = kept + repaired + quarantined)");
  const fileRows: (string | number)[][] = [];
  const outcomeRows: (string | number)[][] = [];
  for (const f of Object.values(report.files)) {
    if (!f) continue;
    const name = visible(f.name);
    fileRows.push([name + (f.gzip ? " (gz)" : ""), f.lines, f.kept, f.repaired, f.quarantined]);
    for (const r of REPAIR_RULES) {
      const n = f.repairedByRule[r.id];
      if (n) outcomeRows.push([name, `repaired: ${r.id}`, n]);
    }
    for (const k of DEFECT_KINDS) {
      const n = f.quarantinedByReason[k];
      if (n) outcomeRows.push([name, `quarantined: ${k}`, n]);
    }
  }
  if (!report.files.track_storage)
    fileRows.push(["track_storage.jsonl (absent, optional)", "-", "-", "-", "-"]);
  out.push(table(["file", "lines", "kept", "repaired", "quarantined"], fileRows));
  out.push("");
  if (outcomeRows.length) {
    out.push("Repaired by rule / quarantined by reason");
    out.push(table(["file", "outcome", "rows"], outcomeRows, "llr"));
    out.push("");
  }

  out.push("Defects");
  out.push(
    table(
      ["defect", "found", "repaired", "quarantined"],
      DEFECT_KINDS.map((k) => [
        k,
        report.defects[k].found,
        report.defects[k].repaired,
        report.defects[k].quarantined,
      ]),
    ),
  );
  out.push("");

  const j = report.joins;
  out.push("Join integrity");
  out.push(
    table(
      ["check", "rows"],
      [
        ["session events with unknown user", j.eventsUnknownUser],
        ["session events with unknown track", j.eventsUnknownTrack],
        ["tracks with unknown artist", j.tracksUnknownArtist],
        ["storage rows without a track", j.storageWithoutTrack],
        ["tracks without a storage row", j.tracksWithoutStorage],
        ["users without kept events", j.usersWithoutEvents],
      ],
    ),
  );
  out.push("");

  out.push("Event types (kept events)");
  const total = Math.max(1, c.events);
  out.push(
    table(
      ["kind", "events", "share"],
      EVENT_KINDS.map((k) => [
        k,
        report.eventTypes[k],
        `${((100 * report.eventTypes[k]) / total).toFixed(1)}%`,
      ]),
    ),
  );
  out.push("");

  const d = report.dialect;
  const forms = (label: string, counts: Record<string, number>) => {
    const entries = Object.entries(counts).filter(([, n]) => n > 0);
    if (entries.length)
      out.push(`${label}: ${entries.map(([k, n]) => `${visible(k)} ${int(n)}`).join(", ")}`);
  };
  out.push("Dialect");
  forms("event-type spellings", d.eventTypeSpellings);
  forms("timestamp forms", d.timestampForms);
  forms("release_date forms", d.releaseDateForms);
  forms("explicit forms", d.explicitForms);
  forms("storage_class spellings", d.storageClassSpellings);
  forms("rows with extra keys", d.extraKeyRows as Record<string, number>);
  out.push("");

  if (report.links.length) {
    out.push("Pointer files followed");
    for (const link of report.links)
      out.push(`${visible(link.file)} -> ${visible(link.target)} (${visible(link.resolved)})`);
    out.push("");
  }
  for (const note of report.notes) out.push(`note: ${visible(note)}`);
  if (report.notes.length) out.push("");

  if (report.examples.length) {
    out.push(`Quarantined examples (first ${EXAMPLES_PER_REASON} per reason)`);
    for (const e of report.examples) {
      const detail = e.detail === undefined ? "" : ` (${visible(e.detail)})`;
      out.push(`${visible(e.file)}:${e.line} ${e.reason}${detail}: ${visible(e.excerpt)}`);
    }
  }
  return `${out.join("\n").trimEnd().split("\n").map(visible).join("\n")}\n`;
}
