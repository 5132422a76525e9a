// `skipwise state load` / `state export`: a feature-state snapshot (a bundle's) materialised into Redis under
// the key layout of redis-lua.ts, and read back into snapshot bytes. Export ∘ load is the identity on the
// bytes, and a state learned in Redis exports the bytes the in-process FeatureState would snapshot.
import type { Redis } from "ioredis";
import type { Catalog } from "../data/types.ts";
import { CatalogIndex } from "./catalog-index.ts";
import { FeatureState } from "./index.ts";
import {
  DEFAULT_REDIS_PREFIX,
  type RedisStateMeta,
  readRedisMeta,
  readSums,
  TrackArguments,
} from "./redis-store.ts";
import { FEATURE_SCHEMA, TASTE_DIMENSIONS } from "./schema.ts";
import { decodeSnapshot, encodeSnapshot, type NamedArray } from "./snapshot.ts";
import type { FeatureOptions } from "./types.ts";
import { NO_STATUS } from "./users.ts";

const K = TASTE_DIMENSIONS;
/** Commands per pipeline while loading or exporting. */
const CHUNK = 2_000;

export type LoadProgress = (done: number, total: number) => void;

type Fields = Record<string, string>;

const str = (x: number) => String(x);

/** Adds `name = value` unless the value is the absent default (0 for counts, NaN for times and fractions). */
function put(fields: Fields, name: string, value: number): void {
  if (value !== 0 && !Number.isNaN(value)) fields[name] = str(value);
}

/** A taste sum as one field of K comma-separated numbers, left out when all are 0. */
function putSums(fields: Fields, name: string, sums: Float64Array): void {
  if (sums.some((x) => x !== 0)) fields[name] = Array.from(sums, str).join(",");
}

function array(arrays: Map<string, NamedArray>, name: string): NamedArray {
  const a = arrays.get(name);
  if (a === undefined) throw new Error(`feature-state snapshot lacks array "${name}"`);
  return a;
}

/** Deletes every key under the prefix (SCAN + UNLINK, never KEYS). */
export async function clearPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${escapeGlob(prefix)}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(...keys);
  } while (cursor !== "0");
  return removed;
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * Writes the snapshot's state into Redis under `prefix` (which must hold no state, unless `replace`), the
 * `meta` hash last: a load cut short leaves Redis without meta, which replicas refuse.
 */
export async function loadSnapshotIntoRedis(
  redis: Redis,
  catalog: Catalog,
  snapshot: Uint8Array,
  options: { origin: string; prefix?: string; replace?: boolean; onProgress?: LoadProgress },
): Promise<{ keys: number; users: number; pairs: number; sessions: number }> {
  const prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
  // Restoring validates the snapshot against the catalogue before anything is written.
  FeatureState.restore(catalog, snapshot);
  const index = new CatalogIndex(catalog);
  const { meta, arrays } = decodeSnapshot(snapshot);
  const existing = await readRedisMeta(redis, prefix);
  if (existing && !options.replace)
    throw new Error(
      `Redis already holds feature state under "${prefix}" (origin ${existing.origin}, loaded ${existing.loadedAt}); pass --replace to overwrite it`,
    );
  await redis.del(`${prefix}meta`);
  await clearPrefix(redis, prefix);

  const writes: [key: string, fields: Fields][] = [];
  const lists: [key: string, members: string[]][] = [];
  const zadds: [score: number, member: string][] = [];
  const P = prefix;

  const userIds = array(arrays, "userIds") as Int32Array;
  const userLastMs = array(arrays, "userLastMs") as Float64Array;
  const userPremium = array(arrays, "userPremium") as Int8Array;
  const u = (name: string) => array(arrays, `users.${name}`);
  const status = (name: string) => array(arrays, `userStatus.${name}`);
  const taste = (name: string) => array(arrays, `taste.${name}`);
  const catalogUsers = index.userIds.length;
  for (let slot = 0; slot < userIds.length; slot++) {
    const f: Fields = { slot: str(slot) };
    put(f, "last", userLastMs[slot]);
    if (userPremium[slot] !== NO_STATUS) f.pr = str(userPremium[slot]);
    if (slot < catalogUsers) f.cp = str(index.premium[slot]);
    for (const [field, name] of TALLY_FIELDS) put(f, field, u(name)[slot]);
    put(f, "st0n", status("listens")[2 * slot]);
    put(f, "st0s", status("skips")[2 * slot]);
    put(f, "st1n", status("listens")[2 * slot + 1]);
    put(f, "st1s", status("skips")[2 * slot + 1]);
    put(f, "pc", taste("playedCount")[slot]);
    put(f, "sc", taste("skippedCount")[slot]);
    putSums(f, "tp", taste("playedSum").subarray(slot * K, (slot + 1) * K) as Float64Array);
    putSums(f, "tq", taste("skippedSum").subarray(slot * K, (slot + 1) * K) as Float64Array);
    writes.push([`${P}u:${userIds[slot]}`, f]);
  }
  lists.push([`${P}users`, Array.from(userIds, str)]);

  const g: Fields = {};
  for (const [field, name] of TALLY_FIELDS) put(g, field, array(arrays, `global.${name}`)[0]);
  const globalCounts = taste("globalCounts");
  put(g, "tcp", globalCounts[0]);
  put(g, "tcs", globalCounts[1]);
  putSums(g, "gtp", taste("globalPlayedSum") as Float64Array);
  putSums(g, "gtq", taste("globalSkippedSum") as Float64Array);
  g.seq = str(array(arrays, "live.nextSeq")[0]);
  g.obs = str(Number(meta.observed));
  writes.push([`${P}g`, g]);

  for (const [table, key] of [
    ["tracks", "t"],
    ["artists", "a"],
  ] as const) {
    const listens = array(arrays, `${table}.listens`);
    for (let i = 0; i < listens.length; i++) {
      if (listens[i] === 0) continue;
      const f: Fields = {};
      for (const [field, name] of TALLY_FIELDS) put(f, field, array(arrays, `${table}.${name}`)[i]);
      writes.push([`${P}${key}:${i}`, f]);
    }
  }

  let pairs = 0;
  for (const [table, key, likes] of PAIR_TABLES) {
    const first = array(arrays, `${table}.first`);
    const second = array(arrays, `${table}.second`);
    const listens = array(arrays, `${table}.listens`);
    const skips = array(arrays, `${table}.skips`);
    const members: string[] = [];
    for (let i = 0; i < first.length; i++) {
      const member = `${userIds[first[i]]}:${second[i]}`;
      members.push(member);
      const f: Fields = {};
      put(f, "n", listens[i]);
      put(f, "s", skips[i]);
      if (likes) put(f, "l", array(arrays, `${table}.likes`)[i]);
      writes.push([`${P}${key}:${member}`, f]);
    }
    lists.push([`${P}${key}`, members]);
    pairs += first.length;
  }

  const ss = (name: string) => array(arrays, `sessions.${name}`);
  const sessionIds = ss("sessionIds");
  for (let i = 0; i < sessionIds.length; i++) {
    const f: Fields = { st: str(ss("startMs")[i]), n: str(ss("listens")[i]), ls: str(ss("lastSkipped")[i]) };
    put(f, "s", ss("skips")[i]);
    put(f, "lf", ss("lastHeardFraction")[i]);
    writes.push([`${P}ss:${sessionIds[i]}`, f]);
  }
  lists.push([`${P}ss`, Array.from(sessionIds, str)]);

  const live = (name: string) => array(arrays, `live.${name}`);
  const trackArguments = new TrackArguments(index, catalog);
  const liveIds = live("sessionIds");
  for (let i = 0; i < liveIds.length; i++) {
    const track = live("openTrack")[i];
    const f: Fields = {
      st: str(live("sessionStartMs")[i]),
      n: str(live("listens")[i]),
      o: str(live("open")[i]),
      ou: str(live("openUser")[i]),
      ot: str(track),
      os: str(live("openStartMs")[i]),
      ol: str(live("openLiked")[i]),
      oq: str(live("openSeq")[i]),
    };
    if (live("open")[i] === 1) {
      [f.od, f.oa, f.og, f.ox] = trackArguments.of(track);
      const d = catalog.tracks[track].durationMs;
      if (d > 0) zadds.push([live("openStartMs")[i] + d, `${deadlineSeq(f.oq)}:${liveIds[i]}`]);
    }
    writes.push([`${P}ls:${liveIds[i]}`, f]);
  }
  lists.push([`${P}ls`, Array.from(liveIds, str)]);

  const total = writes.length + lists.length + zadds.length;
  let done = 0;
  let pipeline = redis.pipeline();
  let queued = 0;
  const flush = async () => {
    if (queued === 0) return;
    const results = await pipeline.exec();
    for (const [error] of results ?? []) if (error) throw error;
    done += queued;
    options.onProgress?.(done, total);
    pipeline = redis.pipeline();
    queued = 0;
  };
  for (const [key, fields] of writes) {
    if (Object.keys(fields).length === 0) {
      done++;
      continue;
    }
    pipeline.hset(key, fields);
    if (++queued >= CHUNK) await flush();
  }
  for (const [key, members] of lists) {
    for (let i = 0; i < members.length; i += 10_000) pipeline.rpush(key, ...members.slice(i, i + 10_000));
    if (++queued >= CHUNK) await flush();
  }
  for (const [score, member] of zadds) {
    pipeline.zadd(`${P}dl`, score, member);
    if (++queued >= CHUNK) await flush();
  }
  await flush();
  const stateMeta: Record<string, string> = {
    schema: FEATURE_SCHEMA.version,
    catalog: index.fingerprint,
    options: JSON.stringify(meta.options),
    origin: options.origin,
    loadedAt: new Date().toISOString(),
  };
  await redis.hset(`${P}meta`, stateMeta);
  return { keys: writes.length, users: userIds.length, pairs, sessions: liveIds.length };
}

const TALLY_FIELDS = [
  ["n", "listens"],
  ["s", "skips"],
  ["l", "likes"],
  ["hc", "heardCount"],
  ["hs", "heardSum"],
] as const;

const PAIR_TABLES = [
  ["userArtist", "ua", false],
  ["userGenre", "ug", false],
  ["userTrack", "ut", true],
] as const;

function deadlineSeq(seq: string): string {
  return seq.padStart(16, "0");
}

/** Reads the state under `prefix` back as feature-state snapshot bytes (what FeatureState.snapshot gives). */
export async function exportSnapshotFromRedis(
  redis: Redis,
  catalog: Catalog,
  prefix = DEFAULT_REDIS_PREFIX,
  onProgress?: LoadProgress,
): Promise<{ snapshot: Buffer; meta: RedisStateMeta }> {
  const stateMeta = await readRedisMeta(redis, prefix);
  if (stateMeta === null) throw new Error(`Redis holds no skipwise feature state under "${prefix}"`);
  const index = new CatalogIndex(catalog);
  if (stateMeta.catalog !== index.fingerprint)
    throw new Error(`the state in Redis was loaded for another catalogue (${stateMeta.catalog})`);
  const P = prefix;
  const list = (key: string) => redis.lrange(`${P}${key}`, 0, -1);
  const userIds = (await list("users")).map(Number);
  const slotOf = new Map(userIds.map((id, slot) => [id, slot]));
  const totalKeys = { done: 0 };
  const hashes = async (keys: string[], fields: string[]): Promise<(string | null)[][]> => {
    const out: (string | null)[][] = [];
    for (let i = 0; i < keys.length; i += CHUNK) {
      const pipeline = redis.pipeline();
      for (const key of keys.slice(i, i + CHUNK)) pipeline.hmget(key, ...fields);
      const results = (await pipeline.exec()) ?? [];
      for (const [error, value] of results) {
        if (error) throw error;
        out.push(value as (string | null)[]);
      }
      totalKeys.done += Math.min(CHUNK, keys.length - i);
      onProgress?.(totalKeys.done, Number.NaN);
    }
    return out;
  };
  const n0 = (v: string | null) => (v === null ? 0 : Number(v));
  const nan = (v: string | null) => (v === null || v === "" ? Number.NaN : Number(v));
  const arrays: Record<string, NamedArray> = {};
  const users = userIds.length;

  const userRows = await hashes(
    userIds.map((id) => `${P}u:${id}`),
    ["last", "pr", "n", "s", "l", "hc", "hs", "st0n", "st0s", "st1n", "st1s", "pc", "sc", "tp", "tq"],
  );
  arrays.userIds = Int32Array.from(userIds);
  arrays.userLastMs = Float64Array.from(userRows, (r) => nan(r[0]));
  arrays.userPremium = Int8Array.from(userRows, (r) => (r[1] === null ? NO_STATUS : Number(r[1])));
  tallyArrays(arrays, "users.", userRows, 2, true, true);
  const statusListens = new Uint32Array(users * 2);
  const statusSkips = new Uint32Array(users * 2);
  const playedSum = new Float64Array(users * K);
  const skippedSum = new Float64Array(users * K);
  userRows.forEach((r, slot) => {
    statusListens[2 * slot] = n0(r[7]);
    statusSkips[2 * slot] = n0(r[8]);
    statusListens[2 * slot + 1] = n0(r[9]);
    statusSkips[2 * slot + 1] = n0(r[10]);
    readSums(r[13], playedSum.subarray(slot * K, (slot + 1) * K));
    readSums(r[14], skippedSum.subarray(slot * K, (slot + 1) * K));
  });
  arrays["userStatus.listens"] = statusListens;
  arrays["userStatus.skips"] = statusSkips;

  const [g] = await hashes([`${P}g`], ["n", "s", "l", "hc", "hs", "seq", "obs", "tcp", "tcs", "gtp", "gtq"]);
  tallyArrays(arrays, "global.", [g], 0, true, true);

  for (const [table, key, count] of [
    ["tracks", "t", index.trackCount],
    ["artists", "a", index.artistCount],
  ] as const) {
    const rows = await hashes(
      range(count).map((i) => `${P}${key}:${i}`),
      ["n", "s", "l", "hc", "hs"],
    );
    tallyArrays(arrays, `${table}.`, rows, 0, true, true);
  }

  for (const [table, key, likes] of PAIR_TABLES) {
    const members = await list(key);
    const first = new Int32Array(members.length);
    const second = new Int32Array(members.length);
    members.forEach((member, i) => {
      const colon = member.indexOf(":");
      const slot = slotOf.get(Number(member.slice(0, colon)));
      if (slot === undefined) throw new Error(`pair ${key}:${member} names a user Redis does not hold`);
      first[i] = slot;
      second[i] = Number(member.slice(colon + 1));
    });
    const rows = await hashes(
      members.map((m) => `${P}${key}:${m}`),
      likes ? ["n", "s", "l"] : ["n", "s"],
    );
    arrays[`${table}.first`] = first;
    arrays[`${table}.second`] = second;
    tallyArrays(arrays, `${table}.`, rows, 0, likes, false);
  }

  const sessionIds = (await list("ss")).map(Number);
  const sessionRows = await hashes(
    sessionIds.map((id) => `${P}ss:${id}`),
    ["st", "n", "s", "ls", "lf"],
  );
  arrays["sessions.sessionIds"] = Int32Array.from(sessionIds);
  arrays["sessions.startMs"] = Float64Array.from(sessionRows, (r) => nan(r[0]));
  arrays["sessions.listens"] = Uint32Array.from(sessionRows, (r) => n0(r[1]));
  arrays["sessions.skips"] = Uint32Array.from(sessionRows, (r) => n0(r[2]));
  arrays["sessions.lastSkipped"] = Uint8Array.from(sessionRows, (r) => n0(r[3]));
  arrays["sessions.lastHeardFraction"] = Float64Array.from(sessionRows, (r) => nan(r[4]));

  arrays["taste.playedSum"] = playedSum;
  arrays["taste.skippedSum"] = skippedSum;
  arrays["taste.playedCount"] = Uint32Array.from(userRows, (r) => n0(r[11]));
  arrays["taste.skippedCount"] = Uint32Array.from(userRows, (r) => n0(r[12]));
  const globalPlayedSum = new Float64Array(K);
  const globalSkippedSum = new Float64Array(K);
  readSums(g[9], globalPlayedSum);
  readSums(g[10], globalSkippedSum);
  arrays["taste.globalPlayedSum"] = globalPlayedSum;
  arrays["taste.globalSkippedSum"] = globalSkippedSum;
  arrays["taste.globalCounts"] = Uint32Array.of(n0(g[7]), n0(g[8]));

  const liveIds = (await list("ls")).map(Number);
  const liveRows = await hashes(
    liveIds.map((id) => `${P}ls:${id}`),
    ["st", "n", "o", "ou", "ot", "os", "ol", "oq"],
  );
  arrays["live.sessionIds"] = Int32Array.from(liveIds);
  arrays["live.sessionStartMs"] = Float64Array.from(liveRows, (r) => nan(r[0]));
  arrays["live.listens"] = Uint32Array.from(liveRows, (r) => n0(r[1]));
  arrays["live.open"] = Uint8Array.from(liveRows, (r) => n0(r[2]));
  arrays["live.openUser"] = Int32Array.from(liveRows, (r) => n0(r[3]));
  arrays["live.openTrack"] = Int32Array.from(liveRows, (r) => n0(r[4]));
  arrays["live.openStartMs"] = Float64Array.from(liveRows, (r) => n0(r[5]));
  arrays["live.openLiked"] = Uint8Array.from(liveRows, (r) => n0(r[6]));
  arrays["live.openSeq"] = Float64Array.from(liveRows, (r) => n0(r[7]));
  arrays["live.nextSeq"] = Float64Array.of(n0(g[5]));

  const meta = {
    schema: FEATURE_SCHEMA.version,
    catalog: index.fingerprint,
    options: stateMeta.options satisfies FeatureOptions,
    observed: n0(g[6]),
  };
  // Through a restore: the families check every array, and their snapshot puts them in canonical order.
  const state = FeatureState.restore(catalog, encodeSnapshot(meta, arrays));
  return { snapshot: state.snapshot(), meta: stateMeta };
}

/** Tally columns under `prefix` from rows whose fields n s [l] [hc hs] start at `from`. */
function tallyArrays(
  arrays: Record<string, NamedArray>,
  prefix: string,
  rows: (string | null)[][],
  from: number,
  likes: boolean,
  heard: boolean,
): void {
  const n0 = (v: string | null) => (v === null ? 0 : Number(v));
  arrays[`${prefix}listens`] = Uint32Array.from(rows, (r) => n0(r[from]));
  arrays[`${prefix}skips`] = Uint32Array.from(rows, (r) => n0(r[from + 1]));
  const liked = from + 2;
  if (likes) arrays[`${prefix}likes`] = Uint32Array.from(rows, (r) => n0(r[liked]));
  const heardAt = likes ? from + 3 : from + 2;
  if (heard) {
    arrays[`${prefix}heardCount`] = Uint32Array.from(rows, (r) => n0(r[heardAt]));
    arrays[`${prefix}heardSum`] = Float64Array.from(rows, (r) => n0(r[heardAt + 1]));
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
