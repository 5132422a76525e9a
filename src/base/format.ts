// Text forms of numbers and times shared by the command-line summaries, reports and manifests.

/** A share as a percentage with `digits` decimals ("12.3 %"); "n/a" when it is not a finite number. */
export function percent(x: number, digits = 1): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(digits)} %` : "n/a";
}

/** An epoch-milliseconds time in ISO 8601 (UTC); "" when it is not a finite number. */
export function isoTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : "";
}

/** A server URL without its password, for messages, logs and /ready (an unparsable one: its scheme only). */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return `${/^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? "url:"}//…`;
  }
}
