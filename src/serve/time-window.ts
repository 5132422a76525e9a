// The window of listen times the service accepts from clients, around its own clock. A far-future time
// would move the online state's clock ahead for everyone (closing every open listen, zeroing recency), and a
// far-past one would be learned as if it were news; both are refused with 400.

/** How far behind the latest time clients have sent a client's time may be (late, offline devices). */
export const MAX_LATENESS_MS = 30 * 24 * 3_600_000;
/** How far ahead of both the state's clock and the wall clock a time may be (client clock skew). */
export const MAX_LEAD_MS = 24 * 3_600_000;

export interface TimeWindow {
  minMs: number;
  maxMs: number;
}

/**
 * Accepted listen times, given the latest time clients have sent (-Infinity before any), the online
 * state's clock (which requests without a time also move, to the wall clock) and the wall clock. A replay
 * of an old delivery stays accepted: its times are behind the wall clock, and each is within
 * MAX_LATENESS_MS of the replay's own latest.
 */
export function acceptedTimes(latestClientMs: number, stateClockMs: number, nowMs: number): TimeWindow {
  const clock = Number.isFinite(stateClockMs) ? stateClockMs : Number.NEGATIVE_INFINITY;
  return { minMs: latestClientMs - MAX_LATENESS_MS, maxMs: Math.max(clock, nowMs) + MAX_LEAD_MS };
}

/** The latest client time seen so far, kept by the service to place the window. */
export class ClientClock {
  latestMs = Number.NEGATIVE_INFINITY;

  /** Whether `ms` is inside the window now; an accepted time moves `latestMs` forward. */
  accept(ms: number, stateClockMs: number, nowMs: number): TimeWindow | null {
    const window = acceptedTimes(this.latestMs, stateClockMs, nowMs);
    if (ms < window.minMs || ms > window.maxMs) return window;
    if (ms > this.latestMs) this.latestMs = ms;
    return null;
  }
}
