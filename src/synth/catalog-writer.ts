// Writes users.jsonl, artists.jsonl, tracks.jsonl and track_storage.jsonl of the synthetic catalogue, with
// the catalogue defects asked for.
import type { SynthCatalog } from "./catalog.ts";
import type { DefectRates, InjectionLedger } from "./defects.ts";
import { malformedVersion, pickVariant } from "./defects.ts";
import { jsonString, jsonStringList, pyFloat, storageClassSpelling } from "./format.ts";
import type { LineSink } from "./output.ts";
import { type Random, randomId } from "./random.ts";
import type { Dialect } from "./types.ts";
import { GENRES } from "./vocabulary.ts";

export interface CatalogWriteContext {
  catalog: SynthCatalog;
  dialect: Dialect;
  explicitBool: boolean;
  rates: DefectRates;
  random: Random;
  ledger: InjectionLedger;
  /** Every id in use (catalogue ids and ids invented for unknown_track), so invented ids stay unknown. */
  takenIds: Set<string>;
  /** Tracks named by some session event: never corrupted (that would turn their events into defects). */
  referencedTracks: Uint8Array;
}

/** Appends a broken copy of `line` after it with the malformed_json rate; broken lines stay unique. */
function maybeMalformed(
  ctx: CatalogWriteContext,
  sink: LineSink,
  file: string,
  line: string,
  seen: Set<string>,
): void {
  if (ctx.rates.malformed_json === 0 || ctx.random.next() >= ctx.rates.malformed_json) return;
  const broken = malformedVersion(line, ctx.random);
  if (seen.has(broken)) return;
  seen.add(broken);
  sink.push(broken);
  ctx.ledger.add(file, "malformed_json");
}

/** Inserts `copy` after the current row with the kind's rate (the copy must differ from every other line). */
function maybeInsert(
  ctx: CatalogWriteContext,
  sink: LineSink,
  file: string,
  kind: "bad_artist_id" | "bad_user_id" | "duplicate_id",
  copy: () => string,
  seen: Set<string>,
): void {
  const rate = ctx.rates[kind];
  if (rate === 0 || ctx.random.next() >= rate) return;
  const line = copy();
  if (seen.has(line)) return;
  seen.add(line);
  sink.push(line);
  ctx.ledger.add(file, kind);
}

function genreNames(list: Uint8Array): string[] {
  return Array.from(list, (g) => GENRES[g]);
}

export async function writeUsers(ctx: CatalogWriteContext, sink: LineSink): Promise<void> {
  const { users } = ctx.catalog;
  const { rates, random, ledger } = ctx;
  const seen = new Set<string>();
  for (let u = 0; u < users.count; u++) {
    let genres: string | null = jsonStringList(genreNames(users.favourites[u]));
    let premium: string | null = users.premiumAtEnd[u] ? "true" : "false";
    const draw = random.next();
    const clean = draw >= rates.null_favourite_genres + rates.null_premium_user;
    if (draw < rates.null_favourite_genres) {
      const v = random.next();
      genres = v < 0.7 ? "null" : v < 0.85 ? null : jsonString(GENRES[users.favourites[u][0]]);
      ledger.add("users", "null_favourite_genres");
    } else if (draw < rates.null_favourite_genres + rates.null_premium_user) {
      const v = random.next();
      premium = v < 0.7 ? "null" : v < 0.85 ? null : '"yes"';
      ledger.add("users", "null_premium_user");
    }
    const userLine = (id: string, name: string): string => {
      let line = `{"user_id": ${id}, "name": ${jsonString(name)}, "city": ${jsonString(users.city[u])}, "street": ${jsonString(users.street[u])}`;
      if (genres !== null) line += `, "favourite_genres": ${genres}`;
      if (premium !== null) line += `, "premium_user": ${premium}`;
      return `${line}}`;
    };
    const line = userLine(String(users.id[u]), users.name[u]);
    sink.push(line);
    if (clean) {
      maybeInsert(
        ctx,
        sink,
        "users",
        "bad_user_id",
        () => userLine(pickVariant(random, ["null", `"u${users.id[u]}"`, `${users.id[u]}.5`]), users.name[u]),
        seen,
      );
      maybeInsert(
        ctx,
        sink,
        "users",
        "duplicate_id",
        () => userLine(String(users.id[u]), `${users.name[u]} (2)`),
        seen,
      );
    }
    maybeMalformed(ctx, sink, "users", line, seen);
  }
}

export async function writeArtists(ctx: CatalogWriteContext, sink: LineSink): Promise<void> {
  const { artists } = ctx.catalog;
  const { rates, random, ledger } = ctx;
  const seen = new Set<string>();
  for (let a = 0; a < artists.count; a++) {
    const name = jsonString(artists.name[a]);
    const genres = jsonStringList(genreNames(artists.genres[a]));
    const id = jsonString(artists.id[a]);
    let line: string;
    if (random.next() < rates.null_artist_genres) {
      line =
        random.next() < 0.8
          ? `{"id": ${id}, "name": ${name}, "genres": null}`
          : `{"id": ${id}, "name": ${name}}`;
      ledger.add("artists", "null_artist_genres");
    } else {
      line = `{"id": ${id}, "name": ${name}, "genres": ${genres}}`;
    }
    sink.push(line);
    // A bad id goes on an extra copy of the artist (as in the real 2023L-v1 delivery), so no track loses
    // its artist.
    if (rates.bad_artist_id > 0 && random.next() < rates.bad_artist_id) {
      const v = random.next();
      const badId = v < 0.5 ? "-1" : v < 0.75 ? '""' : "null";
      const copy = `{"id": ${badId}, "name": ${name}, "genres": ${genres}}`;
      if (!seen.has(copy)) {
        seen.add(copy);
        sink.push(copy);
        ledger.add("artists", "bad_artist_id");
      }
    }
    maybeMalformed(ctx, sink, "artists", line, seen);
    if (sink.readyToFlush) await sink.maybeFlush();
  }
}

const NUMERIC_TRACK_FIELDS = ["popularity", "duration_ms", "danceability", "energy", "loudness", "tempo"];

export async function writeTracks(ctx: CatalogWriteContext, sink: LineSink): Promise<void> {
  const { tracks, artists } = ctx.catalog;
  const { rates, random, ledger } = ctx;
  const seen = new Set<string>();
  const explicitTokens = ctx.explicitBool ? ["false", "true"] : ["0", "1"];
  for (let t = 0; t < tracks.count; t++) {
    let artistToken = jsonString(artists.id[tracks.artist[t]]);
    let badField = "";
    let badValue: string | null = null;
    const draw = random.next();
    if (draw < rates.unknown_artist) {
      let id = randomId(random);
      while (ctx.takenIds.has(id)) id = randomId(random);
      ctx.takenIds.add(id);
      artistToken = jsonString(id);
      ledger.add("tracks", "unknown_artist");
    } else if (draw < rates.unknown_artist + rates.bad_track_field && !ctx.referencedTracks[t]) {
      badField = NUMERIC_TRACK_FIELDS[random.int(NUMERIC_TRACK_FIELDS.length)];
      const v = random.next();
      badValue = v < 0.4 ? null : v < 0.7 ? "null" : '"n/a"';
      ledger.add("tracks", "bad_track_field");
    }
    const numeric = (key: string, token: string): string => {
      if (key !== badField) return `, "${key}": ${token}`;
      return badValue === null ? "" : `, "${key}": ${badValue}`;
    };
    const trackLine = (name: string): string =>
      `{"id": ${jsonString(tracks.id[t])}, "name": ${jsonString(name)}` +
      numeric("popularity", String(tracks.popularity[t])) +
      numeric("duration_ms", String(tracks.durationMs[t])) +
      `, "explicit": ${explicitTokens[tracks.explicit[t]]}, "id_artist": ${artistToken}, "release_date": ${jsonString(tracks.releaseDate[t])}` +
      numeric("danceability", pyFloat(tracks.danceability[t])) +
      numeric("energy", pyFloat(tracks.energy[t])) +
      `, "key": ${tracks.key[t]}` +
      numeric("loudness", pyFloat(tracks.loudness[t])) +
      `, "speechiness": ${pyFloat(tracks.speechiness[t])}, "acousticness": ${pyFloat(tracks.acousticness[t])}, "instrumentalness": ${pyFloat(tracks.instrumentalness[t])}, "liveness": ${pyFloat(tracks.liveness[t])}, "valence": ${pyFloat(tracks.valence[t])}` +
      numeric("tempo", pyFloat(tracks.tempo[t])) +
      "}";
    const line = trackLine(tracks.name[t]);
    sink.push(line);
    if (artistToken === jsonString(artists.id[tracks.artist[t]]) && badField === "") {
      maybeInsert(ctx, sink, "tracks", "duplicate_id", () => trackLine(`${tracks.name[t]} (copy)`), seen);
    }
    maybeMalformed(ctx, sink, "tracks", line, seen);
    if (sink.readyToFlush) await sink.maybeFlush();
  }
}

/** Storage class by popularity (almost everything is slow, as in the real data); cost follows duration. */
export async function writeStorage(ctx: CatalogWriteContext, sink: LineSink): Promise<void> {
  const { tracks } = ctx.catalog;
  const { random } = ctx;
  const seen = new Set<string>();
  for (let t = 0; t < tracks.count; t++) {
    const popularity = tracks.popularity[t];
    const storageClass = popularity >= 88 ? "fast" : popularity >= 66 ? "medium" : "slow";
    const factor = storageClass === "fast" ? 4 : storageClass === "medium" ? 2 : 1;
    const cost = tracks.durationMs[t] * 5e-8 * factor * (0.9 + 0.2 * random.next());
    const id = jsonString(tracks.id[t]);
    const classToken = `"${storageClassSpelling(ctx.dialect, storageClass)}"`;
    const costToken = pyFloat(Math.round(cost * 1e8) / 1e8);
    let line = `{"track_id": ${id}, "storage_class": ${classToken}, "daily_cost": ${costToken}}`;
    const bad = random.next() < ctx.rates.bad_storage_field;
    if (bad) {
      line = pickVariant(random, [
        `{"track_id": ${id}, "storage_class": "warm", "daily_cost": ${costToken}}`,
        `{"track_id": ${id}, "storage_class": ${classToken}, "daily_cost": -${costToken}}`,
        `{"track_id": ${id}, "storage_class": ${classToken}, "daily_cost": "${costToken}"}`,
        `{"track_id": ${id}, "storage_class": ${classToken}}`,
      ]);
      ctx.ledger.add("track_storage", "bad_storage_field");
    }
    sink.push(line);
    if (!bad) {
      const other = pyFloat(Math.round(cost * 2e8) / 1e8);
      maybeInsert(
        ctx,
        sink,
        "track_storage",
        "duplicate_id",
        () => `{"track_id": ${id}, "storage_class": ${classToken}, "daily_cost": ${other}}`,
        seen,
      );
    }
    maybeMalformed(ctx, sink, "track_storage", line, seen);
    if (sink.readyToFlush) await sink.maybeFlush();
  }
}
