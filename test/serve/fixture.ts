// A tiny synthetic world built with the real pipeline parts: a hand-made catalogue, listens with a known
// skip mechanism (genre mismatch and a per-user bias raise P(skip)), a FeatureState replayed in time
// order, and real models fitted on the vectors it emits.

import { join } from "node:path";
import type { Artist, Catalog, Track, User } from "../../src/data/types.ts";
import { FEATURE_SCHEMA, FeatureState } from "../../src/features/index.ts";
import { loadBundle, saveBundle } from "../../src/models/bundle.ts";
import { GradientBoostedTrees, LogisticRegression, NaiveGenreModel } from "../../src/models/index.ts";
import type { Matrix } from "../../src/models/types.ts";
import { BundleScorer, scorerFromBundle } from "../../src/serve/bundle-scorer.ts";
import { tempDir } from "./helpers.ts";

export const REFERENCE_TRACK = "31PzY79H10HCgJs533Xq6B";
const GENRES = ["rock", "jazz", "pop", "metal", "folk"];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function tinyCatalog(seed = 7): Catalog {
  const random = rng(seed);
  const artists = new Map<string, Artist>();
  for (let a = 0; a < 10; a++) {
    const genres = [GENRES[a % GENRES.length]];
    if (a % 3 === 0) genres.push(GENRES[(a + 2) % GENRES.length]);
    artists.set(`A${a}`, { id: `A${a}`, name: `Artist ${a}`, genres });
  }
  const tracks: Track[] = [];
  for (let t = 0; t < 40; t++) {
    tracks.push({
      id: t === 0 ? REFERENCE_TRACK : `T${t}`,
      name: `Track ${t}`,
      popularity: Math.round(random() * 100),
      durationMs: 120_000 + Math.round(random() * 180_000),
      explicit: random() < 0.2,
      artistId: `A${t % 10}`,
      releaseDate: `${1990 + (t % 30)}-01-01`,
      releaseYear: 1990 + (t % 30),
      danceability: random(),
      energy: random(),
      key: t % 12,
      loudness: -20 + random() * 20,
      speechiness: random() * 0.3,
      acousticness: random(),
      instrumentalness: random(),
      liveness: random(),
      valence: random(),
      tempo: 80 + random() * 80,
    });
  }
  const users = new Map<number, User>();
  for (let u = 101; u <= 130; u++) {
    const favouriteGenres = [GENRES[u % GENRES.length]];
    if (u % 2 === 0) favouriteGenres.push(GENRES[(u + 1) % GENRES.length]);
    users.set(u, {
      id: u,
      name: `User ${u}`,
      city: "Gdańsk",
      street: "Długa",
      favouriteGenres,
      premium: u % 4 === 0,
    });
  }
  return {
    tracks,
    trackIndex: new Map(tracks.map((t, i) => [t.id, i])),
    artists,
    users,
    storage: new Map(),
  };
}

export interface TinyWorld {
  catalog: Catalog;
  state: FeatureState;
  X: Matrix;
  y: Uint8Array;
  /** Epoch ms just after the last simulated listen. */
  endMs: number;
}

/** Replays `listens` simulated listens through a FeatureState, emitting each vector before observing it. */
export function simulateWorld(listens = 2500, seed = 11): TinyWorld {
  const catalog = tinyCatalog();
  const random = rng(seed);
  const state = new FeatureState(catalog);
  const cols = FEATURE_SCHEMA.names.length;
  const data = new Float32Array(listens * cols);
  const y = new Uint8Array(listens);
  const userIds = [...catalog.users.keys()];
  let now = Date.UTC(2023, 0, 2, 8);
  let session = 1;
  let i = 0;
  while (i < listens) {
    const userId = userIds[Math.floor(random() * userIds.length)];
    const user = catalog.users.get(userId) as User;
    const bias = (userId % 5) * 0.08;
    const start = now;
    for (let position = 0; position < 5 && i < listens; position++, i++) {
      const trackIndex = Math.floor(random() * catalog.tracks.length);
      const track = catalog.tracks[trackIndex];
      const genres = (catalog.artists.get(track.artistId) as Artist).genres;
      const match = genres.some((g) => user.favouriteGenres.includes(g));
      const pSkip = Math.min(0.95, (match ? 0.1 : 0.65) + bias);
      const skipped = random() < pSkip;
      state.vector({ userId, trackIndex, timestampMs: now, sessionId: session }, data, i * cols);
      y[i] = skipped ? 1 : 0;
      const heardMs = skipped ? Math.round(track.durationMs * random() * 0.5) : track.durationMs;
      state.observe({
        userId,
        trackIndex,
        sessionId: session,
        startMs: now,
        sessionStartMs: start,
        skipped,
        heardMs,
      });
      now += heardMs + 1000;
    }
    session++;
    now += 3_600_000;
  }
  return { catalog, state, X: { rows: listens, cols, data }, y, endMs: now };
}

export interface FittedModels {
  naive: NaiveGenreModel;
  logistic: LogisticRegression;
  gbdt: GradientBoostedTrees;
}

export function fitModels(world: TinyWorld): FittedModels {
  const options = { featureNames: FEATURE_SCHEMA.names };
  return {
    naive: new NaiveGenreModel().fit(world.X, world.y, options),
    logistic: new LogisticRegression({ C: 0.5 }).fit(world.X, world.y, options),
    gbdt: new GradientBoostedTrees({
      nEstimators: 25,
      maxLeaves: 8,
      minSamplesLeaf: 10,
      earlyStoppingRounds: 0,
    }).fit(world.X, world.y, options),
  };
}

/** A scorer over freshly built real parts (no bundle on disk). */
export function worldScorer(version = "tiny-1"): {
  scorer: BundleScorer;
  world: TinyWorld;
  models: FittedModels;
} {
  const world = simulateWorld();
  const models = fitModels(world);
  return { scorer: scorerOver(world, models, world.state, version), world, models };
}

/** A scorer over the given models and feature state (e.g. a restored copy of the world's state). */
export function scorerOver(
  world: TinyWorld,
  models: FittedModels,
  state: FeatureState,
  version: string,
): BundleScorer {
  return new BundleScorer({
    version,
    catalog: world.catalog,
    state,
    models: [
      { name: "naive", model: models.naive, threshold: 0.5 },
      { name: "logistic", model: models.logistic, threshold: 0.45 },
      { name: "gbdt", model: models.gbdt, threshold: 0.5 },
    ],
    defaultModel: "gbdt",
  });
}

export interface SavedWorld {
  world: TinyWorld;
  /** Served from the bundle written by saveBundle and read back by scorerFromBundle. */
  scorer: BundleScorer;
  bundleDir: string;
  /** The models as restored from the bundle (for building twins of the server's scorer). */
  models: FittedModels;
}

/** The tiny world through the real bundle path: saveBundle → loadBundle + FeatureState.restore. */
export function savedWorld(): SavedWorld {
  const world = simulateWorld();
  const fitted = fitModels(world);
  const bundleDir = join(tempDir("world-bundle"), "bundle");
  saveBundle(bundleDir, {
    featureSchema: FEATURE_SCHEMA,
    models: { naive: fitted.naive, logistic: fitted.logistic, gbdt: fitted.gbdt },
    defaultModel: "gbdt",
    threshold: 0.5,
    thresholds: { naive: 0.5, logistic: 0.45 },
    featureState: world.state.snapshot(),
  });
  const restored = loadBundle(bundleDir).models;
  return {
    world,
    scorer: scorerFromBundle(bundleDir, world.catalog),
    bundleDir,
    models: restored as unknown as FittedModels,
  };
}
