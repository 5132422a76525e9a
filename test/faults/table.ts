// The fault suite's ledger: every case adds its inputs and what came back, and the last file to finish
// prints one table (category, inputs tried, clean 4xx, 5xx, hangs, state corrupted, data lost). The
// assertions are in the cases themselves: the table is the summary a reader of the CI log wants.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface FaultTally {
  /** Inputs tried (requests, files, signals). */
  tried: number;
  /** Refused with a clear 4xx (or, for files and commands, a clear error naming the file). */
  clean4xx: number;
  /** Answered 5xx where a 4xx or a success was due (must stay 0 except designed 503s, counted apart). */
  fivexx: number;
  /** Designed 503s: the service said it could not write, and nothing was written. */
  unavailable503: number;
  /** Requests or processes that did not finish within their deadline. */
  hangs: number;
  /** Live states that changed where they must not have. */
  stateCorrupted: number;
  /** Acknowledged writes missing afterwards, or orphan rows. */
  dataLost: number;
}

/** One ledger per vitest run, named by the main process (globalSetup sets it; forked workers inherit it). */
function ledger(): string {
  return join(tmpdir(), `skipwise-faults-${process.env.VITEST_FAULT_RUN ?? process.ppid}.jsonl`);
}

export function emptyTally(): FaultTally {
  return { tried: 0, clean4xx: 0, fivexx: 0, unavailable503: 0, hangs: 0, stateCorrupted: 0, dataLost: 0 };
}

/** Adds one category's counts to the run's ledger (a file: test files run in separate workers). */
export function recordFaults(category: string, tally: FaultTally): void {
  appendFileSync(ledger(), `${JSON.stringify({ category, ...tally })}\n`);
}

/** Counts an HTTP answer into a tally: 4xx clean, 503 as designed unavailability, other 5xx as failures. */
export function countStatus(tally: FaultTally, status: number): void {
  tally.tried++;
  if (status >= 400 && status < 500) tally.clean4xx++;
  else if (status === 503) tally.unavailable503++;
  else if (status >= 500) tally.fivexx++;
}

/** The table of everything recorded in this run so far. */
export function faultTable(): string {
  if (!existsSync(ledger())) return "(no fault cases recorded)";
  const rows = new Map<string, FaultTally>();
  for (const line of readFileSync(ledger(), "utf8").split("\n")) {
    if (!line) continue;
    const { category, ...tally } = JSON.parse(line) as FaultTally & { category: string };
    const sum = rows.get(category) ?? emptyTally();
    for (const key of Object.keys(sum) as (keyof FaultTally)[]) sum[key] += tally[key];
    rows.set(category, sum);
  }
  const header = [
    "category",
    "tried",
    "clean 4xx",
    "5xx",
    "503 (nothing written)",
    "hangs",
    "state corrupted",
    "data lost",
  ];
  const body = [...rows].map(([category, t]) => [
    category,
    ...[t.tried, t.clean4xx, t.fivexx, t.unavailable503, t.hangs, t.stateCorrupted, t.dataLost].map(String),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), ...body.map(line)].join("\n");
}

export function resetFaultLedger(): void {
  // globalSetup runs in the main process: its workers see it as their parent.
  process.env.VITEST_FAULT_RUN = String(process.pid);
  writeFileSync(ledger(), "");
}
