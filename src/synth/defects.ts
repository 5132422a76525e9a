// Defect injection. The kinds and their meaning are the taxonomy shared with the loader (src/data/quality.ts).
// Every injection is chosen so the loader reports exactly what was injected: one defect per row, no defect
// next to a row whose repair depends on it, inserted lines (duplicates, malformed lines) unique, and catalogue
// rows corrupted only where nothing else depends on them.
import { SESSION_ROW_DEFECTS as DATA_SESSION_ROW_DEFECTS, DEFECT_KINDS } from "../data/quality.ts";
import { EventCode } from "../data/types.ts";
import type { Random } from "./random.ts";

/** Defects in sessions.jsonl that change a row in place (at most one per row): the loader's row defects. */
export const SESSION_ROW_DEFECTS = DATA_SESSION_ROW_DEFECTS;
export type SessionRowDefect = (typeof SESSION_ROW_DEFECTS)[number];

/**
 * Every kind the generator can inject: exactly the kinds the loader counts, so a round trip can compare
 * the manifest's injected counts with the quality report kind by kind.
 */
export const INJECTABLE_DEFECTS = DEFECT_KINDS;
export type InjectableDefect = (typeof INJECTABLE_DEFECTS)[number];

export type DefectRates = Record<InjectableDefect, number>;

/** Which rows each kind may hit (shown by `--help` and in errors). */
export const DEFECT_ELIGIBILITY: Record<InjectableDefect, string> = {
  malformed_json: "a broken line inserted after a row, in every file",
  duplicate_row: "a byte-identical copy inserted after a clean sessions row",
  null_user_id:
    "sessions rows: user_id null/empty/missing; a tenth of them as whole sessions without any user (not repairable)",
  null_event_type: "sessions rows: event_type null/empty/missing",
  unknown_event_type: "sessions rows: event_type not a known kind",
  null_track_id: "play/skip/like rows: track_id null/empty/missing",
  bad_timestamp: "sessions rows: impossible or unparseable timestamp",
  unknown_user: "sessions rows: user_id not in users.jsonl",
  unknown_track: "play/skip/like rows: track_id not in tracks.jsonl",
  null_session_id: "sessions rows: session_id null/missing",
  null_favourite_genres: "users rows: favourite_genres null/missing/not a list",
  null_premium_user: "users rows: premium_user null/missing/not a boolean",
  null_artist_genres: "artists rows: genres null/missing",
  bad_artist_id: "a copy of an artists row with an id that is not a non-empty string, inserted after it",
  unknown_artist: "tracks rows: id_artist not in artists.jsonl",
  bad_track_field: "tracks rows never played: a numeric field missing or of the wrong type",
  bad_user_id: "a copy of a users row with a user_id that is not an integer, inserted after it",
  bad_storage_field: "track_storage rows: storage_class unknown or daily_cost missing/negative/not a number",
  duplicate_id: "a users/artists/tracks/track_storage row repeating an earlier row's id with other content",
};

export function noDefects(): DefectRates {
  const rates = {} as DefectRates;
  for (const kind of INJECTABLE_DEFECTS) rates[kind] = 0;
  return rates;
}

function isInjectable(kind: string): kind is InjectableDefect {
  return (INJECTABLE_DEFECTS as readonly string[]).includes(kind);
}

/** Validates rates given as an object (unknown kinds, rates outside [0, 1], row rates summing above 1). */
export function defectRates(given: Partial<Record<string, number>> | undefined): DefectRates {
  const rates = noDefects();
  for (const [kind, rate] of Object.entries(given ?? {})) {
    if (rate === undefined) continue;
    if (kind === "all") {
      if (!(rate >= 0 && rate <= 1 / SESSION_ROW_DEFECTS.length)) {
        throw new Error(`defect rate all=${rate}: must be between 0 and ${1 / SESSION_ROW_DEFECTS.length}`);
      }
      for (const k of INJECTABLE_DEFECTS) rates[k] = rate;
      continue;
    }
    if (!isInjectable(kind)) {
      throw new Error(`unknown defect kind "${kind}"; known kinds: ${INJECTABLE_DEFECTS.join(", ")}, all`);
    }
    if (!(typeof rate === "number" && rate >= 0 && rate <= 1)) {
      throw new Error(`defect rate ${kind}=${rate}: must be a number between 0 and 1`);
    }
    rates[kind] = rate;
  }
  let rowSum = 0;
  for (const kind of SESSION_ROW_DEFECTS) rowSum += rates[kind];
  if (rowSum > 1)
    throw new Error(`the sessions row defect rates sum to ${rowSum}; at most 1 (one defect per row)`);
  if (rates.null_favourite_genres + rates.null_premium_user > 1) {
    throw new Error("null_favourite_genres + null_premium_user must not exceed 1 (one defect per users row)");
  }
  if (rates.unknown_artist + rates.bad_track_field > 1) {
    throw new Error("unknown_artist + bad_track_field must not exceed 1 (one defect per tracks row)");
  }
  return rates;
}

/** Parses `kind=rate,kind=rate` (the `--defects` option); `all=rate` sets every kind. */
export function parseDefectSpec(spec: string): DefectRates {
  const given: Record<string, number> = {};
  for (const part of spec.split(",")) {
    const item = part.trim();
    if (item === "") continue;
    const match = /^([a-z_]+)\s*=\s*([0-9.eE+-]+)$/.exec(item);
    if (!match) throw new Error(`--defects: "${item}" is not kind=rate (e.g. null_user_id=0.01)`);
    const rate = Number(match[2]);
    if (Number.isNaN(rate)) throw new Error(`--defects: "${match[2]}" in "${item}" is not a number`);
    given[match[1]] = rate;
  }
  return defectRates(given);
}

/** Counts of what was actually injected, in total and per file. */
export class InjectionLedger {
  readonly injected: Record<InjectableDefect, number> = noDefects();
  readonly byFile: Record<string, Partial<Record<InjectableDefect, number>>> = {};
  readonly repairable = { null_user_id: 0, null_track_id: 0 };
  readonly unrepairable = { null_user_id: 0, null_track_id: 0 };

  add(file: string, kind: InjectableDefect, n = 1): void {
    if (n === 0) return;
    this.injected[kind] += n;
    const perFile = this.byFile[file] ?? {};
    perFile[kind] = (perFile[kind] ?? 0) + n;
    this.byFile[file] = perFile;
  }
}

/** Row-defect codes: 0 = none, else 1 + index in SESSION_ROW_DEFECTS. */
export const NO_DEFECT = 0;
export function rowDefectCode(kind: SessionRowDefect): number {
  return SESSION_ROW_DEFECTS.indexOf(kind) + 1;
}
const C_NULL_USER = rowDefectCode("null_user_id");
/** Share of null_user_id injections that come as whole sessions without a user (so some are not repairable). */
export const ANONYMOUS_SESSION_SHARE = 0.1;
const C_NULL_TRACK = rowDefectCode("null_track_id");
const C_UNKNOWN_TRACK = rowDefectCode("unknown_track");
const C_UNKNOWN_USER = rowDefectCode("unknown_user");
const C_NULL_SESSION = rowDefectCode("null_session_id");

function hasTrack(kind: number): boolean {
  return kind === EventCode.play || kind === EventCode.skip || kind === EventCode.like;
}

/**
 * Chooses the row defects of one session (`kinds[i]` = EventCode of row i, in file order) into `codes`.
 * Each row draws at most one kind with the kind's rate; then conflicts are resolved so each injected
 * defect is counted exactly as injected by the loader (resolution only ever cleans rows):
 * - the row before a null track_id is left clean (the repair reads the preceding play);
 * - a session holding a null user_id has no unknown user or null session id (they change which user the
 *   session names) and keeps at least one clean row, unless it is a whole session without any user.
 */
export function planSessionDefects(
  kinds: Uint8Array,
  n: number,
  random: Random,
  rates: DefectRates,
  codes: Uint8Array,
): void {
  // A session-level draw with probability rate × share keeps the per-row rate of null user ids at `rate`.
  if (rates.null_user_id > 0 && random.next() < rates.null_user_id * ANONYMOUS_SESSION_SHARE) {
    codes.fill(C_NULL_USER, 0, n);
    return;
  }
  let any = false;
  let nullUser = false;
  for (let i = 0; i < n; i++) {
    codes[i] = NO_DEFECT;
    let u = random.next();
    for (let k = 0; k < SESSION_ROW_DEFECTS.length; k++) {
      const code = k + 1;
      let rate = rates[SESSION_ROW_DEFECTS[k]];
      if (rate === 0) continue;
      if (code === C_NULL_USER) rate *= 1 - ANONYMOUS_SESSION_SHARE;
      if ((code === C_NULL_TRACK || code === C_UNKNOWN_TRACK) && !hasTrack(kinds[i])) continue;
      if (u < rate) {
        codes[i] = code;
        any = true;
        if (code === C_NULL_USER) nullUser = true;
        break;
      }
      u -= rate;
    }
  }
  if (!any) return;
  for (let i = n - 1; i > 0; i--) if (codes[i] === C_NULL_TRACK) codes[i - 1] = NO_DEFECT;
  if (!nullUser) return;
  let clean = 0;
  for (let i = 0; i < n; i++) {
    if (codes[i] === C_UNKNOWN_USER || codes[i] === C_NULL_SESSION) codes[i] = NO_DEFECT;
    if (codes[i] === NO_DEFECT) clean++;
  }
  if (clean === 0) {
    for (let i = 0; i < n; i++) if (codes[i] !== C_NULL_USER) codes[i] = NO_DEFECT;
  }
}

/** Repair outcome of the planned defects of one session, by the loader's agreed rules. */
export function countRepairable(
  kinds: Uint8Array,
  codes: Uint8Array,
  n: number,
  ledger: InjectionLedger,
): void {
  let nullUsers = 0;
  for (let i = 0; i < n; i++) {
    if (codes[i] === C_NULL_USER) nullUsers++;
    if (codes[i] === C_NULL_TRACK) {
      const repairable =
        kinds[i] !== EventCode.play && i > 0 && kinds[i - 1] === EventCode.play && codes[i - 1] === NO_DEFECT;
      if (repairable) ledger.repairable.null_track_id++;
      else ledger.unrepairable.null_track_id++;
    }
  }
  if (nullUsers === 0) return;
  if (nullUsers < n) ledger.repairable.null_user_id += nullUsers;
  else ledger.unrepairable.null_user_id += nullUsers;
}

/**
 * A broken version of a line that no reader can take for a JSON object: cut short, or with a colon
 * missing. The cut keeps most of the line so broken lines stay distinct from each other.
 */
export function malformedVersion(line: string, random: Random): string {
  if (random.bernoulli(0.5)) {
    const cut = Math.max(2, line.length - 1 - random.int(Math.min(12, line.length - 2)));
    return line.slice(0, cut);
  }
  const colon = line.indexOf('": ');
  return colon < 0 ? line.slice(0, -1) : `${line.slice(0, colon + 1)} ${line.slice(colon + 3)}`;
}

/** Picks one of `variants` (tokens) by a uniform draw. */
export function pickVariant<T>(random: Random, variants: readonly T[]): T {
  return variants[random.int(variants.length)];
}
