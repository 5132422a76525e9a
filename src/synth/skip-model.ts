// The latent skip model: P(skip) = sigmoid(sum of effects). Every effect is something a model can learn from
// past listens (user and track skip rates, popularity, genre match, user x genre rates, position, premium,
// hour, liked before), so the AUC of these true probabilities is the ceiling later stages are measured against.

export const SKIP_MODEL = {
  /** Sets the overall skip share (about 25 % of plays). */
  intercept: -0.4,
  /** Spread of the per-user skip propensity. */
  userSd: 0.9,
  /** Logit change per 10 popularity points above `popularityCentre` (popular tracks are skipped less). */
  popularityPer10: -0.3,
  popularityCentre: 30,
  /** Spread of a track's own appeal beyond its popularity. */
  trackSd: 0.1,
  /** Any genre of the track's artist among the user's favourites. */
  genreMatch: -1.2,
  /** Spread of the hidden taste of a user for the genres they explore beyond the favourites. */
  hiddenTasteSd: 0.3,
  /** Hidden taste summed over a track's genres is clipped to ±this. */
  hiddenTasteClip: 1.6,
  /** Fatigue: + fatigueMax * (1 - exp(-position / fatigueScale)). */
  fatigueMax: 0.9,
  fatigueScale: 15,
  premium: -0.35,
  /** Time of day: + timeOfDay * cos(2π (hour - 3) / 24): more skipping late at night. */
  timeOfDay: 0.2,
  /** The user liked this track during an earlier listen. */
  likedBefore: -0.5,
  premiumShareAtStart: 0.4,
  /** Share of non-premium users who buy premium during the period. */
  upgradeShare: 0.15,
} as const;

export interface SkipContext {
  propensity: number;
  appeal: number;
  genreMatch: boolean;
  /** Hidden taste summed over the track's genres (before clipping). */
  hiddenTaste: number;
  /** 0-based position of the listen in its session. */
  position: number;
  premium: boolean;
  /** Hour of day with fraction, UTC. */
  hour: number;
  likedBefore: boolean;
}

export function skipLogit(c: SkipContext): number {
  const m = SKIP_MODEL;
  const taste = Math.max(-m.hiddenTasteClip, Math.min(m.hiddenTasteClip, c.hiddenTaste));
  return (
    m.intercept +
    c.propensity +
    c.appeal +
    (c.genreMatch ? m.genreMatch : 0) +
    taste +
    m.fatigueMax * (1 - Math.exp(-c.position / m.fatigueScale)) +
    (c.premium ? m.premium : 0) +
    m.timeOfDay * Math.cos((2 * Math.PI * (c.hour - 3)) / 24) +
    (c.likedBefore ? m.likedBefore : 0)
  );
}

/** The logit after the drift: intercept + offset + track appeal + time of day, nothing about user or session. */
export function driftedLogit(appeal: number, hour: number, offset: number): number {
  const m = SKIP_MODEL;
  return m.intercept + offset + appeal + m.timeOfDay * Math.cos((2 * Math.PI * (hour - 3)) / 24);
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
