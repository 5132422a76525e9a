// Small hand-written deliveries written to a temp folder, for dialect and defect tests.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export type Lines = (string | Record<string, unknown>)[];

export interface FixtureFiles {
  users?: Lines;
  artists?: Lines;
  tracks?: Lines;
  track_storage?: Lines | null;
  sessions?: Lines;
}

export const USERS: Lines = [
  {
    user_id: 101,
    name: "Ala Kot",
    city: "Kraków",
    street: "ul. Długa 1",
    favourite_genres: ["rock", "jazz"],
    premium_user: false,
  },
  {
    user_id: 102,
    name: "Ola Pies",
    city: "Gdańsk",
    street: "ul. Krótka 2",
    favourite_genres: ["pop"],
    premium_user: true,
  },
];

export const ARTISTS: Lines = [
  { id: "a1", name: "Artist One", genres: ["rock"] },
  { id: "a2", name: "Artist Two", genres: ["pop", "dance pop"] },
];

export function track(
  id: string,
  artist: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id,
    name: `Track ${id}`,
    popularity: 50,
    duration_ms: 200000,
    explicit: 0,
    id_artist: artist,
    release_date: "2001-02-03",
    danceability: 0.5,
    energy: 0.6,
    key: 5,
    loudness: -7.5,
    speechiness: 0.05,
    acousticness: 0.1,
    instrumentalness: 0.0,
    liveness: 0.2,
    valence: 0.4,
    tempo: 120.5,
    ...extra,
  };
}

export const TRACKS: Lines = [track("t1", "a1"), track("t2", "a2"), track("t3", "a1")];

export const STORAGE: Lines = [
  { track_id: "t1", storage_class: "SLOW", daily_cost: 0.01 },
  { track_id: "t2", storage_class: "medium", daily_cost: 0.02 },
  { track_id: "t3", storage_class: "Fast", daily_cost: 0.03 },
];

export function ev(
  session: number,
  timestamp: unknown,
  user: unknown,
  eventType: unknown,
  trackId: unknown,
): Record<string, unknown> {
  return { timestamp, user_id: user, track_id: trackId, event_type: eventType, session_id: session };
}

function render(lines: Lines): string {
  return `${lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n")}\n`;
}

/**
 * Writes a delivery; files default to the small clean catalogue above. `gzip` names files written as
 * `.jsonl.gz`. `track_storage: null` leaves the optional file out.
 */
export function writeDelivery(files: FixtureFiles, gzip: (keyof FixtureFiles)[] = [], dir?: string): string {
  const root = dir ?? mkdtempSync(join(tmpdir(), "skipwise-data-"));
  mkdirSync(root, { recursive: true });
  const all: Required<FixtureFiles> = {
    users: files.users ?? USERS,
    artists: files.artists ?? ARTISTS,
    tracks: files.tracks ?? TRACKS,
    track_storage: files.track_storage === undefined ? STORAGE : files.track_storage,
    sessions: files.sessions ?? [],
  };
  for (const [name, lines] of Object.entries(all)) {
    if (lines === null) continue;
    const text = render(lines);
    if (gzip.includes(name as keyof FixtureFiles))
      writeFileSync(join(root, `${name}.jsonl.gz`), gzipSync(text));
    else writeFileSync(join(root, `${name}.jsonl`), text);
  }
  return root;
}
