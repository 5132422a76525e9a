// Readers of the catalogue files (users, artists, tracks, track_storage): one JSON.parse per line (these
// files are small next to sessions), validation and normalisation into the records of types.ts.
import { DuplicateLines } from "./duplicates.ts";
import { DeliveryError } from "./errors.ts";
import type { LocatedFile } from "./files.ts";
import { isBlank, NOT_JSONL_AFTER_LINES, readLines } from "./lines.ts";
import type { DefectKind, FileTally, RepairRuleId } from "./quality.ts";
import { isValidDate } from "./timestamp.ts";
import type { Artist, StorageClass, Track, TrackStorage, User } from "./types.ts";

type JsonObject = Record<string, unknown>;

/** One line's outcome from a normaliser. */
type Outcome<T> =
  | { record: T; repairs: RepairRuleId[]; found: DefectKind[] }
  | { reason: DefectKind; found: DefectKind[]; detail?: string };

/**
 * Streams a catalogue file: blank lines skipped, byte-identical lines quarantined as duplicate_row, lines
 * that are not JSON objects as malformed_json; every other line goes to `handle`.
 */
async function readObjects(
  located: LocatedFile,
  tally: FileTally,
  schemaKeys: ReadonlySet<string>,
  handle: (object: JsonObject, lineNo: number, text: string) => void,
  onBytes?: (n: number) => void,
): Promise<{ extraKeyRows: number }> {
  const duplicates = new DuplicateLines(located.gzip ? null : located.readPath);
  const quality = tally.quality;
  let nonBlank = 0;
  let decoded = 0;
  let extraKeyRows = 0;
  let lastKeys: string[] = [];
  let lastExtra = false;
  try {
    const read = await readLines(
      located.readPath,
      located.path,
      located.gzip,
      (b, s, e, lineNo, offset) => {
        if (s === e || isBlank(b, s, e)) {
          quality.blankLines++;
          return;
        }
        nonBlank++;
        quality.lines++;
        const text = b.toString("utf8", s, e);
        if (duplicates.seen(duplicates.global, b, s, e, lineNo, offset)) {
          tally.found("duplicate_row");
          tally.quarantined("duplicate_row", lineNo, () => text);
          return;
        }
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          value = undefined;
        }
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
          if (decoded === 0 && nonBlank >= NOT_JSONL_AFTER_LINES) {
            throw new DeliveryError(
              located.path,
              `is not JSONL (none of its first ${NOT_JSONL_AFTER_LINES} lines is a JSON object)`,
            );
          }
          tally.found("malformed_json");
          tally.quarantined("malformed_json", lineNo, () => text);
          return;
        }
        decoded++;
        const object = value as JsonObject;
        // Rows of one file nearly always share their key list: reuse the previous row's verdict then.
        const keys = Object.keys(object);
        if (!sameKeys(keys, lastKeys)) {
          lastKeys = keys;
          lastExtra = keys.some((key) => !schemaKeys.has(key));
        }
        if (lastExtra) extraKeyRows++;
        handle(object, lineNo, text);
      },
      onBytes,
    );
    quality.bomStripped = read.bomStripped;
    quality.sha256 = read.sha256;
  } finally {
    duplicates.close();
  }
  if (decoded === 0) {
    throw new DeliveryError(
      located.path,
      nonBlank === 0 ? "file is empty (no lines)" : "is not JSONL (no line is a JSON object)",
    );
  }
  return { extraKeyRows };
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Applies an outcome to the tally; returns the record when the line is kept. */
function settle<T>(tally: FileTally, outcome: Outcome<T>, lineNo: number, text: string): T | null {
  for (const kind of outcome.found) tally.found(kind);
  if ("reason" in outcome) {
    tally.quarantined(outcome.reason, lineNo, () => text, outcome.detail);
    return null;
  }
  if (outcome.repairs.length > 0) tally.repaired(outcome.repairs);
  else tally.kept();
  return outcome.record;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : value === null || value === undefined ? "" : String(value);
}

function integerId(value: unknown): number | null {
  if (typeof value === "number" && Number.isInteger(value) && (value | 0) === value) return value;
  if (typeof value === "string" && /^-?\d{1,9}$/.test(value)) return Number(value);
  return null;
}

function stringList(value: unknown): string[] | null {
  if (!Array.isArray(value)) return null;
  return value.filter((g): g is string => typeof g === "string");
}

// ---------------------------------------------------------------------------------------------------
// users.jsonl

const USER_KEYS = new Set(["user_id", "name", "city", "street", "favourite_genres", "premium_user"]);

/**
 * `user_id` an integer (or a string of digits) else bad_user_id; `favourite_genres` not a list →
 * null_favourite_genres, repaired to []; `premium_user` true/false/0/1 (strings too) else null_premium_user,
 * repaired to null. An id seen on an earlier line → duplicate_id (first one wins).
 */
export function normaliseUser(o: JsonObject, seen: ReadonlyMap<number, User>): Outcome<User> {
  const found: DefectKind[] = [];
  const repairs: RepairRuleId[] = [];
  let favouriteGenres = stringList(o.favourite_genres);
  if (favouriteGenres === null) {
    found.push("null_favourite_genres");
    repairs.push("favourite_genres_empty");
    favouriteGenres = [];
  }
  const premium = flag(o.premium_user);
  if (premium === null) {
    found.push("null_premium_user");
    repairs.push("premium_unknown");
  }
  const id = integerId(o.user_id);
  if (id === null) return { reason: "bad_user_id", found: ["bad_user_id", ...found] };
  if (seen.has(id)) return { reason: "duplicate_id", found: ["duplicate_id", ...found] };
  return {
    record: { id, name: text(o.name), city: text(o.city), street: text(o.street), favouriteGenres, premium },
    repairs,
    found,
  };
}

/** true/false, 1/0, "true"/"false"/"1"/"0" (any case); null for anything else. */
function flag(value: unknown): boolean | null {
  if (typeof value === "boolean") return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value === "string") {
    const v = value.trim().toLowerCase();
    if (v === "true" || v === "1") return true;
    if (v === "false" || v === "0") return false;
  }
  return null;
}

export async function readUsers(
  located: LocatedFile,
  tally: FileTally,
  onBytes?: (n: number) => void,
): Promise<{ users: Map<number, User>; extraKeyRows: number }> {
  const users = new Map<number, User>();
  const { extraKeyRows } = await readObjects(
    located,
    tally,
    USER_KEYS,
    (o, lineNo, line) => {
      const user = settle(tally, normaliseUser(o, users), lineNo, line);
      if (user) users.set(user.id, user);
    },
    onBytes,
  );
  return { users, extraKeyRows };
}

// ---------------------------------------------------------------------------------------------------
// artists.jsonl

const ARTIST_KEYS = new Set(["id", "name", "genres"]);

/** `id` a non-empty string else bad_artist_id; `genres` not a list → null_artist_genres, repaired to []. */
export function normaliseArtist(o: JsonObject, seen: ReadonlyMap<string, Artist>): Outcome<Artist> {
  const genres = stringList(o.genres);
  const found: DefectKind[] = genres === null ? ["null_artist_genres"] : [];
  if (typeof o.id !== "string" || o.id === "")
    return { reason: "bad_artist_id", found: ["bad_artist_id", ...found] };
  if (seen.has(o.id)) return { reason: "duplicate_id", found: ["duplicate_id", ...found] };
  return {
    record: { id: o.id, name: text(o.name), genres: genres ?? [] },
    repairs: genres === null ? ["artist_genres_empty"] : [],
    found,
  };
}

export async function readArtists(
  located: LocatedFile,
  tally: FileTally,
  onBytes?: (n: number) => void,
): Promise<{ artists: Map<string, Artist>; extraKeyRows: number }> {
  const artists = new Map<string, Artist>();
  const { extraKeyRows } = await readObjects(
    located,
    tally,
    ARTIST_KEYS,
    (o, lineNo, line) => {
      const artist = settle(tally, normaliseArtist(o, artists), lineNo, line);
      if (artist) artists.set(artist.id, artist);
    },
    onBytes,
  );
  return { artists, extraKeyRows };
}

// ---------------------------------------------------------------------------------------------------
// tracks.jsonl

/**
 * A sane range for a numeric field: a value outside it (or not a finite number) makes the row unusable, as a
 * missing field would. `min`/`max` are inclusive unless `minExclusive`; `integer` also requires an integer.
 */
export interface NumberRange {
  min: number;
  max: number;
  minExclusive?: boolean;
  integer?: boolean;
  /** Where the range comes from. */
  why: string;
}

/**
 * The twelve numeric track fields and their ranges, after the Spotify Web API definitions the Pozytywka
 * catalogue copies (popularity, audio features). Every row of the real deliveries (2023L-v2, 2023Z-v2)
 * lies inside; the observed extremes are quoted. A value outside (1e308, 0 ms, loudness +500 dB, ...) is a
 * corrupt row, and it would poison training (a huge duration turns thresholds into NaN): bad_track_field.
 */
export const TRACK_NUMBER_RANGES = {
  popularity: { min: 0, max: 100, why: "Spotify popularity, 0..100 (real: 0..99)" },
  duration_ms: {
    min: 0,
    minExclusive: true,
    max: 86_400_000,
    why: "a track lasts more than 0 ms and at most 24 h (real: 4 s..69 min)",
  },
  danceability: { min: 0, max: 1, why: "Spotify audio feature, 0..1" },
  energy: { min: 0, max: 1, why: "Spotify audio feature, 0..1" },
  key: { min: -1, max: 11, integer: true, why: "pitch class 0..11, -1 = no key detected (real: 0..11)" },
  loudness: {
    min: -100,
    max: 20,
    why: "dB relative to full scale: Spotify gives -60..0, a hot master a little above 0 (real: -60..+2.5); slack both sides",
  },
  speechiness: { min: 0, max: 1, why: "Spotify audio feature, 0..1" },
  acousticness: { min: 0, max: 1, why: "Spotify audio feature, 0..1" },
  instrumentalness: { min: 0, max: 1, why: "Spotify audio feature, 0..1" },
  liveness: { min: 0, max: 1, why: "Spotify audio feature, 0..1" },
  valence: { min: 0, max: 1, why: "Spotify audio feature, 0..1" },
  tempo: {
    min: 0,
    max: 500,
    why: "beats per minute, 0 = no tempo detected (real: 0..220); no music is above 500 BPM",
  },
} as const satisfies Record<string, NumberRange>;

/** track_storage's numeric field (it feeds no model feature, but sums of costs must stay finite). */
export const STORAGE_NUMBER_RANGES = {
  daily_cost: { min: 0, max: 1000, why: "cost per day ≥ 0 (real: 0.0002..0.21); 1000 is far above any tier" },
} as const satisfies Record<string, NumberRange>;

type TrackNumberKey = keyof typeof TRACK_NUMBER_RANGES;
const TRACK_NUMBER_KEYS = Object.keys(TRACK_NUMBER_RANGES) as TrackNumberKey[];
const TRACK_KEYS = new Set(["id", "name", "explicit", "id_artist", "release_date", ...TRACK_NUMBER_KEYS]);

/** True when `value` is a finite number inside `range`. */
export function inRange(value: unknown, range: NumberRange): value is number {
  return (
    typeof value === "number" &&
    (range.minExclusive ? value > range.min : value >= range.min) &&
    value <= range.max &&
    (!range.integer || Number.isInteger(value))
  );
}

function describeRange(range: NumberRange): string {
  const lo = range.minExclusive ? `(${range.min}` : `[${range.min}`;
  return `${range.integer ? "an integer" : "a finite number"} in ${lo}, ${range.max}]`;
}

/** A JSON value as it appears in a line (`missing` for an absent key), for the report's detail. */
export function shownValue(value: unknown): string {
  if (value === undefined) return "missing";
  if (typeof value === "number") return String(value); // 1e309 parses as Infinity; JSON.stringify gives null
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 59)}…` : json;
}

/** `field = value, not ...`: the first out-of-range field, for the quarantine example. */
function rangeDetail(field: string, value: unknown, range: NumberRange): string {
  return `${field} = ${shownValue(value)}, not ${describeRange(range)}`;
}

export const RELEASE_DATE_FORMS = ["YYYY", "YYYY-MM", "YYYY-MM-DD"] as const;

/**
 * `release_date` as YYYY, YYYY-MM or YYYY-MM-DD (an integer year is read as YYYY), normalised to
 * YYYY-MM-DD with missing parts set to 01. Returns null when it is none of those.
 */
export function normaliseReleaseDate(value: unknown): { date: string; year: number; form: number } | null {
  const raw = typeof value === "number" && Number.isInteger(value) ? String(value) : value;
  if (typeof raw !== "string") return null;
  const m = RELEASE_DATE.exec(raw);
  if (!m) return null;
  const year = Number(m[1]);
  const month = m[2] === undefined ? 1 : Number(m[2]);
  const day = m[3] === undefined ? 1 : Number(m[3]);
  if (!isValidDate(year, month, day)) return null;
  if (m[3] !== undefined) return { date: raw, year, form: 2 };
  return { date: m[2] !== undefined ? `${raw}-01` : `${raw}-01-01`, year, form: m[2] !== undefined ? 1 : 0 };
}

const RELEASE_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;

export const EXPLICIT_FORMS = ["0/1", "boolean", "string"] as const;

/** `explicit` as 0/1, true/false or those as strings; returns [value, form] or null. */
function explicitOf(value: unknown): [boolean, number] | null {
  if (value === 0 || value === 1) return [value === 1, 0];
  if (typeof value === "boolean") return [value, 1];
  if (typeof value === "string") {
    const b = flag(value);
    return b === null ? null : [b, 2];
  }
  return null;
}

/**
 * Every required field present with the right type, else bad_track_field (quarantined): `id` and
 * `id_artist` non-empty strings, the twelve numeric fields finite numbers inside TRACK_NUMBER_RANGES,
 * `explicit`, `release_date`. The outcome's `detail` names the first bad field and its value.
 * An `id_artist` missing from artists.jsonl is unknown_artist: found, the track is kept.
 */
export function normaliseTrack(
  o: JsonObject,
  artists: ReadonlyMap<string, Artist>,
  seen: ReadonlyMap<string, number>,
  forms?: { release: Int32Array; explicit: Int32Array },
): Outcome<Track> {
  const bad = (detail: string): Outcome<Track> => ({
    reason: "bad_track_field",
    found: ["bad_track_field"],
    detail,
  });
  if (typeof o.id !== "string" || o.id === "") return bad(`id = ${shownValue(o.id)}, not a non-empty string`);
  if (typeof o.id_artist !== "string" || o.id_artist === "")
    return bad(`id_artist = ${shownValue(o.id_artist)}, not a non-empty string`);
  // Written out (not a loop over TRACK_NUMBER_KEYS): named loads stay fast on the shared shape of parsed rows.
  const R = TRACK_NUMBER_RANGES;
  if (
    !inRange(o.popularity, R.popularity) ||
    !inRange(o.duration_ms, R.duration_ms) ||
    !inRange(o.danceability, R.danceability) ||
    !inRange(o.energy, R.energy) ||
    !inRange(o.key, R.key) ||
    !inRange(o.loudness, R.loudness) ||
    !inRange(o.speechiness, R.speechiness) ||
    !inRange(o.acousticness, R.acousticness) ||
    !inRange(o.instrumentalness, R.instrumentalness) ||
    !inRange(o.liveness, R.liveness) ||
    !inRange(o.valence, R.valence) ||
    !inRange(o.tempo, R.tempo)
  ) {
    // Rare: find which field for the report.
    const field = TRACK_NUMBER_KEYS.find((k) => !inRange(o[k], R[k])) as TrackNumberKey;
    return bad(rangeDetail(field, o[field], R[field]));
  }
  const explicit = explicitOf(o.explicit);
  if (explicit === null)
    return bad(`explicit = ${shownValue(o.explicit)}, not 0/1, true/false or those as strings`);
  const release = normaliseReleaseDate(o.release_date);
  if (release === null)
    return bad(`release_date = ${shownValue(o.release_date)}, not a date YYYY, YYYY-MM or YYYY-MM-DD`);
  if (seen.has(o.id)) return { reason: "duplicate_id", found: ["duplicate_id"] };
  if (forms) {
    forms.release[release.form]++;
    forms.explicit[explicit[1]]++;
  }
  const track: Track = {
    id: o.id,
    name: text(o.name),
    popularity: o.popularity as number,
    durationMs: o.duration_ms as number,
    explicit: explicit[0],
    artistId: o.id_artist,
    releaseDate: release.date,
    releaseYear: release.year,
    danceability: o.danceability as number,
    energy: o.energy as number,
    key: o.key as number,
    loudness: o.loudness as number,
    speechiness: o.speechiness as number,
    acousticness: o.acousticness as number,
    instrumentalness: o.instrumentalness as number,
    liveness: o.liveness as number,
    valence: o.valence as number,
    tempo: o.tempo as number,
  };
  return { record: track, repairs: [], found: artists.has(track.artistId) ? [] : ["unknown_artist"] };
}

export async function readTracks(
  located: LocatedFile,
  tally: FileTally,
  artists: ReadonlyMap<string, Artist>,
  onBytes?: (n: number) => void,
): Promise<{
  tracks: Track[];
  trackIndex: Map<string, number>;
  extraKeyRows: number;
  unknownArtist: number;
  releaseDateForms: Record<string, number>;
  explicitForms: Record<string, number>;
}> {
  const tracks: Track[] = [];
  const trackIndex = new Map<string, number>();
  const forms = { release: new Int32Array(3), explicit: new Int32Array(3) };
  let unknownArtist = 0;
  const { extraKeyRows } = await readObjects(
    located,
    tally,
    TRACK_KEYS,
    (o, lineNo, line) => {
      const outcome = normaliseTrack(o, artists, trackIndex, forms);
      const track = settle(tally, outcome, lineNo, line);
      if (!track) return;
      if (outcome.found.length > 0) unknownArtist++;
      trackIndex.set(track.id, tracks.length);
      tracks.push(track);
    },
    onBytes,
  );
  return {
    tracks,
    trackIndex,
    extraKeyRows,
    unknownArtist,
    releaseDateForms: Object.fromEntries(RELEASE_DATE_FORMS.map((f, i) => [f, forms.release[i]])),
    explicitForms: Object.fromEntries(EXPLICIT_FORMS.map((f, i) => [f, forms.explicit[i]])),
  };
}

// ---------------------------------------------------------------------------------------------------
// track_storage.jsonl

const STORAGE_KEYS = new Set(["track_id", "storage_class", "daily_cost"]);
const STORAGE_CLASSES: readonly StorageClass[] = ["slow", "medium", "fast"];

/**
 * `track_id` non-empty string, `storage_class` slow/medium/fast in any case, `daily_cost` a number inside
 * STORAGE_NUMBER_RANGES; else bad_storage_field, `detail` naming the field and its value.
 */
export function normaliseStorage(
  o: JsonObject,
  seen: ReadonlyMap<string, TrackStorage>,
): Outcome<TrackStorage> {
  const bad = (detail: string): Outcome<TrackStorage> => ({
    reason: "bad_storage_field",
    found: ["bad_storage_field"],
    detail,
  });
  if (typeof o.track_id !== "string" || o.track_id === "")
    return bad(`track_id = ${shownValue(o.track_id)}, not a non-empty string`);
  const storageClass = typeof o.storage_class === "string" ? o.storage_class.trim().toLowerCase() : "";
  if (!STORAGE_CLASSES.includes(storageClass as StorageClass))
    return bad(`storage_class = ${shownValue(o.storage_class)}, not slow, medium or fast in any case`);
  const cost = STORAGE_NUMBER_RANGES.daily_cost;
  if (!inRange(o.daily_cost, cost)) return bad(rangeDetail("daily_cost", o.daily_cost, cost));
  if (seen.has(o.track_id)) return { reason: "duplicate_id", found: ["duplicate_id"] };
  return {
    record: { trackId: o.track_id, storageClass: storageClass as StorageClass, dailyCost: o.daily_cost },
    repairs: [],
    found: [],
  };
}

export async function readStorage(
  located: LocatedFile,
  tally: FileTally,
  onBytes?: (n: number) => void,
): Promise<{ storage: Map<string, TrackStorage>; extraKeyRows: number; spellings: Record<string, number> }> {
  const storage = new Map<string, TrackStorage>();
  const spellings: Record<string, number> = {};
  const { extraKeyRows } = await readObjects(
    located,
    tally,
    STORAGE_KEYS,
    (o, lineNo, line) => {
      const row = settle(tally, normaliseStorage(o, storage), lineNo, line);
      if (!row) return;
      storage.set(row.trackId, row);
      const spelling = o.storage_class as string;
      spellings[spelling] = (spellings[spelling] ?? 0) + 1;
    },
    onBytes,
  );
  return { storage, extraKeyRows, spellings };
}
