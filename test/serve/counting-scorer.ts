// Interim test scorer until the real bundle path exists: a genre rule and a smoothed skip-rate model
// over a small catalogue, with real online learning (no canned answers).
import type { ListenOutcome, Score, ScoreRequest, Scorer } from "../../src/serve/scorer.ts";

export interface TinyCatalog {
  tracks: Map<string, { genres: string[]; durationMs: number }>;
  users: Map<number, { favouriteGenres: string[] }>;
}

export class CountingScorer implements Scorer {
  readonly modelNames = ["naive", "rate"] as const;
  readonly defaultModel = "rate";
  private readonly userSkips = new Map<number, { skips: number; listens: number }>();
  private globalSkips = 1;
  private globalListens = 4;

  constructor(
    private readonly catalog: TinyCatalog,
    readonly bundleVersion = "counting-1",
  ) {}

  threshold(model: string): number {
    return model === "naive" ? 0.5 : 0.4;
  }

  score(model: string, request: ScoreRequest): Score {
    const user = this.catalog.users.get(request.userId);
    const track = this.catalog.tracks.get(request.trackId);
    const prior = this.globalSkips / this.globalListens;
    const coldStart = { user: !user && !this.userSkips.has(request.userId), track: !track };
    if (model === "naive") {
      if (!user || !track) return { probSkip: prior, coldStart };
      const match = track.genres.some((g) => user.favouriteGenres.includes(g));
      return { probSkip: match ? 0 : 1, coldStart };
    }
    const counts = this.userSkips.get(request.userId);
    const k = 2;
    let p = counts ? (counts.skips + k * prior) / (counts.listens + k) : prior;
    if (request.session?.previousSkipped === true) p = Math.min(1, p + 0.1);
    return { probSkip: p, coldStart };
  }

  scoreBatch(model: string, requests: readonly ScoreRequest[]): Score[] {
    return requests.map((r) => this.score(model, r));
  }

  learn(outcome: ListenOutcome): void {
    const counts = this.userSkips.get(outcome.userId) ?? { skips: 0, listens: 0 };
    counts.listens++;
    if (outcome.skipped) counts.skips++;
    this.userSkips.set(outcome.userId, counts);
    this.globalListens++;
    if (outcome.skipped) this.globalSkips++;
  }

  trackDurationMs(trackId: string): number {
    return this.catalog.tracks.get(trackId)?.durationMs ?? Number.NaN;
  }
}

export function tinyCatalog(): TinyCatalog {
  return {
    tracks: new Map([
      ["31PzY79H10HCgJs533Xq6B", { genres: ["rock"], durationMs: 200_000 }],
      ["T-jazz", { genres: ["jazz"], durationMs: 180_000 }],
      ["T-pop", { genres: ["pop"], durationMs: 150_000 }],
    ]),
    users: new Map([
      [101, { favouriteGenres: ["rock"] }],
      [102, { favouriteGenres: ["jazz"] }],
      [103, { favouriteGenres: ["pop", "rock"] }],
    ]),
  };
}
