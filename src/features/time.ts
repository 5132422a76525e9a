// Clock features of the listen. Timestamps are epoch ms read as UTC (the logs carry no zone), so the
// hour is the hour written in the log.
import { COL } from "./schema.ts";

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

export function writeTime(timestampMs: number, out: Float32Array, base: number): void {
  if (!Number.isFinite(timestampMs)) {
    out[base + COL.hour] = Number.NaN;
    out[base + COL.weekday] = Number.NaN;
    return;
  }
  out[base + COL.hour] = mod(Math.floor(timestampMs / MS_PER_HOUR), 24);
  // 1970-01-01 was a Thursday; 0 = Sunday as in Date.getUTCDay.
  out[base + COL.weekday] = mod(Math.floor(timestampMs / MS_PER_DAY) + 4, 7);
}

function mod(x: number, m: number): number {
  return ((x % m) + m) % m;
}
