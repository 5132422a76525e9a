// Stage 1 of skipwise: a Pozytywka delivery folder -> typed catalogue, columnar session events and a
// data-quality report. See docs/data-quality.md for every rule the loader applies.
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { StageProgress } from "../base/progress.ts";
import { ByteKeyIndex } from "./byte-keys.ts";
import { readArtists, readStorage, readTracks, readUsers } from "./catalog.ts";
import { DeliveryError } from "./errors.ts";
import { type LocatedFile, locateFile } from "./files.ts";
import {
  bomNote,
  type DefectKind,
  type DeliveryFile,
  emptyDefects,
  emptyEventTypes,
  FileTally,
  type QualityReport,
  type QuarantineExample,
  REPAIR_RULES,
} from "./quality.ts";
import { readSessions } from "./sessions.ts";
import { type Catalog, EVENT_KINDS, type EventTable } from "./types.ts";

export { DeliveryError } from "./errors.ts";
export {
  type DeliveryFileDigest,
  type DeliveryFingerprint,
  deliveryFingerprint,
  fingerprintOf,
} from "./fingerprint.ts";
export {
  DEFECT_KINDS,
  type DefectKind,
  formatQualityReport,
  type QualityReport,
  REPAIR_RULES,
} from "./quality.ts";

export interface Delivery {
  dir: string;
  catalog: Catalog;
  events: EventTable;
  quality: QualityReport;
}

/** An event table with no rows. */
export function emptyEventTable(): EventTable {
  return {
    length: 0,
    timestampMs: new Float64Array(0),
    userId: new Int32Array(0),
    sessionId: new Int32Array(0),
    trackIndex: new Int32Array(0),
    kind: new Uint8Array(0),
    line: new Int32Array(0),
  };
}

export interface LoadOptions {
  /** Called as raw file bytes are read (all five files together make up `totalBytes`). */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /**
   * Decode common session lines with the hand-written byte scanner (default true). `false` sends every line
   * through JSON.parse; results are identical either way (tested), only speed differs.
   */
  fastPath?: boolean;
}

/** Loads the delivery folder `data` (a path as the user gave it), its ingest shown by `progress` as "ingest". */
export function loadDeliveryWithProgress(data: string, progress: StageProgress): Promise<Delivery> {
  return loadDelivery(resolve(data), { onProgress: progress.megabytes("ingest") });
}

/**
 * Reads only the catalogue of a delivery (users, artists, tracks, optional track_storage), skipping the
 * sessions: what a server needs beside a bundle. Same validation and repairs as `loadDelivery`.
 */
export async function loadCatalog(dir: string): Promise<Catalog> {
  const root = resolve(dir);
  if (!existsSync(root)) throw new DeliveryError(root, "delivery directory does not exist");
  if (!statSync(root).isDirectory()) throw new DeliveryError(root, "is not a directory");
  const defects = emptyDefects();
  const examples: QuarantineExample[] = [];
  const exampleCounts = new Map<DefectKind, number>();
  const tally = (f: LocatedFile) =>
    new FileTally(f.file, f.name, f.readPath, f.gzip, f.bytes, defects, examples, exampleCounts);
  const usersFile = locateFile(root, "users", true) as LocatedFile;
  const artistsFile = locateFile(root, "artists", true) as LocatedFile;
  const tracksFile = locateFile(root, "tracks", true) as LocatedFile;
  const storageFile = locateFile(root, "track_storage", false);
  const users = await readUsers(usersFile, tally(usersFile));
  const artists = await readArtists(artistsFile, tally(artistsFile));
  const tracks = await readTracks(tracksFile, tally(tracksFile), artists.artists);
  const storage = storageFile ? await readStorage(storageFile, tally(storageFile)) : null;
  return {
    tracks: tracks.tracks,
    trackIndex: tracks.trackIndex,
    artists: artists.artists,
    users: users.users,
    storage: storage?.storage ?? new Map(),
  };
}

/**
 * Reads a delivery folder: users, artists, tracks (required), track_storage (optional), sessions (required),
 * each `.jsonl` or `.jsonl.gz`. Bad lines are repaired or quarantined and counted in `quality`; only an
 * unreadable delivery throws DeliveryError (missing folder or required file, empty file, not JSONL at all).
 */
export async function loadDelivery(dir: string, options: LoadOptions = {}): Promise<Delivery> {
  const root = resolve(dir);
  if (!existsSync(root)) throw new DeliveryError(root, "delivery directory does not exist");
  if (!statSync(root).isDirectory()) throw new DeliveryError(root, "is not a directory");

  const located: { [F in DeliveryFile]: LocatedFile | null } = {
    users: locateFile(root, "users", true),
    artists: locateFile(root, "artists", true),
    tracks: locateFile(root, "tracks", true),
    track_storage: locateFile(root, "track_storage", false),
    sessions: locateFile(root, "sessions", true),
  };
  const totalBytes = Object.values(located).reduce((sum, f) => sum + (f?.bytes ?? 0), 0);
  let bytesRead = 0;
  const onBytes = options.onProgress
    ? (n: number) => {
        bytesRead += n;
        options.onProgress?.(bytesRead, totalBytes);
      }
    : undefined;

  const defects = emptyDefects();
  const examples: QuarantineExample[] = [];
  const exampleCounts = new Map<DefectKind, number>();
  const tally = (f: LocatedFile) =>
    new FileTally(f.file, f.name, f.readPath, f.gzip, f.bytes, defects, examples, exampleCounts);

  const usersFile = located.users as LocatedFile;
  const artistsFile = located.artists as LocatedFile;
  const tracksFile = located.tracks as LocatedFile;
  const sessionsFile = located.sessions as LocatedFile;
  const usersTally = tally(usersFile);
  const artistsTally = tally(artistsFile);
  const tracksTally = tally(tracksFile);
  const storageTally = located.track_storage ? tally(located.track_storage) : null;
  const sessionsTally = tally(sessionsFile);

  const users = await readUsers(usersFile, usersTally, onBytes);
  const artists = await readArtists(artistsFile, artistsTally, onBytes);
  const tracks = await readTracks(tracksFile, tracksTally, artists.artists, onBytes);
  const storage = located.track_storage
    ? await readStorage(located.track_storage, storageTally as FileTally, onBytes)
    : null;
  const sessions = await readSessions(sessionsFile, {
    users: users.users,
    trackIds: new ByteKeyIndex(tracks.trackIndex),
    tally: sessionsTally,
    fastPath: options.fastPath ?? true,
    onBytes,
  });

  const catalog: Catalog = {
    tracks: tracks.tracks,
    trackIndex: tracks.trackIndex,
    artists: artists.artists,
    users: users.users,
    storage: storage?.storage ?? new Map(),
  };
  const events = sessions.events;

  let storageWithoutTrack = 0;
  for (const id of catalog.storage.keys()) if (!catalog.trackIndex.has(id)) storageWithoutTrack++;
  let tracksWithoutStorage = 0;
  if (storage)
    for (const id of catalog.trackIndex.keys()) if (!catalog.storage.has(id)) tracksWithoutStorage++;
  const usersWithEvents = new Set<number>();
  const kindCounts = new Int32Array(EVENT_KINDS.length);
  let previousUser = Number.NaN;
  for (let i = 0; i < events.length; i++) {
    kindCounts[events.kind[i]]++;
    const user = events.userId[i];
    if (user !== previousUser) {
      usersWithEvents.add(user);
      previousUser = user;
    }
  }
  const eventTypes = emptyEventTypes();
  EVENT_KINDS.forEach((kind, code) => {
    eventTypes[kind] = kindCounts[code];
  });

  const notes: string[] = [];
  const links = Object.values(located).flatMap((f) => f?.links ?? []);
  for (const link of links) notes.push(`${link.file} is a pointer file; read ${link.resolved} instead`);
  if (!located.track_storage) notes.push("track_storage.jsonl is absent (optional): storage counts are 0");
  for (const t of [usersTally, artistsTally, tracksTally, storageTally, sessionsTally])
    if (t?.quality.bomStripped) notes.push(bomNote(t.quality.name));

  const quality: QualityReport = {
    version: 1,
    dir: root,
    files: {
      users: usersTally.quality,
      artists: artistsTally.quality,
      tracks: tracksTally.quality,
      track_storage: storageTally?.quality ?? null,
      sessions: sessionsTally.quality,
    },
    defects,
    repairRules: REPAIR_RULES.map((r) => ({ id: r.id, defect: r.defect, description: r.description })),
    joins: {
      eventsUnknownUser: sessions.unknownUserEvents,
      eventsUnknownTrack: sessions.unknownTrackEvents,
      tracksUnknownArtist: tracks.unknownArtist,
      storageWithoutTrack,
      tracksWithoutStorage,
      usersWithoutEvents: [...catalog.users.keys()].filter((id) => !usersWithEvents.has(id)).length,
    },
    eventTypes,
    timeRange: sessions.timeRange
      ? {
          ...sessions.timeRange,
          first: new Date(sessions.timeRange.firstMs).toISOString(),
          last: new Date(sessions.timeRange.lastMs).toISOString(),
        }
      : null,
    counts: {
      events: events.length,
      sessions: sessions.sessions,
      users: catalog.users.size,
      tracks: catalog.tracks.length,
      artists: catalog.artists.size,
      storage: catalog.storage.size,
    },
    links,
    dialect: {
      eventTypeSpellings: sessions.eventTypeSpellings,
      timestampForms: sessions.timestampForms,
      releaseDateForms: tracks.releaseDateForms,
      explicitForms: tracks.explicitForms,
      storageClassSpellings: storage?.spellings ?? {},
      extraKeyRows: {
        users: users.extraKeyRows,
        artists: artists.extraKeyRows,
        tracks: tracks.extraKeyRows,
        ...(storage ? { track_storage: storage.extraKeyRows } : {}),
        sessions: sessions.extraKeyRows,
      },
      sessionsFastPathLines: sessions.fastPathLines,
    },
    examples,
    notes,
  };
  return { dir: root, catalog, events, quality };
}
export { type EventRecord, EventRecordError, normalizeEventRecord } from "./event-record.ts";
