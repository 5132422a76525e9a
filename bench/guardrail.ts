// The live guardrail over seeds (issue 14): per seed, a delivery whose skips stop following the listener at
// the start of its test period, and the same seed without drift; each trained, served with the guardrail on
// and its test period replayed with feedback (bench/guardrail-loop.ts).
//   node --import tsx bench/guardrail.ts [--seeds 20] [--json bench/guardrail.json]
// Prints per seed when the variant fell back (listens with feedback before its first fallback decision), the
// median over the drifted seeds, and how many undrifted seeds ever fell back (the target: none).
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { stageProgress } from "../src/base/progress.ts";
import { DRIFT_DAY, guardrailLoop, LOOP_SIZE, type LoopResult } from "./guardrail-loop.ts";

const { values: args } = parseArgs({
  options: { seeds: { type: "string", default: "20" }, json: { type: "string" } },
});
const seeds = Number(args.seeds);
const progress = stageProgress(process.stderr, { unit: " runs" });
const results: LoopResult[] = [];
for (let seed = 1; seed <= seeds; seed++) {
  for (const drift of [true, false]) {
    const r = await guardrailLoop(seed, drift);
    results.push(r);
    progress.update("guardrail loop", results.length, 2 * seeds);
    process.stdout.write(
      `seed ${String(seed).padStart(2)} ${drift ? "drift   " : "no drift"} ${r.model} (policy ${r.policy}), ${r.listens} listens: ${r.fallbackAfter === null ? "never fell back" : `fell back after ${r.fallbackAfter} listens with feedback, served PLAY for ${(100 * r.fallbackShare).toFixed(1)} % of the period`}\n`,
    );
  }
}
progress.stop();
// A bundle whose own policy already caches everything serves PLAY throughout: nothing for the guardrail to do.
const drifted = results.filter((r) => r.drift && r.policy === "model");
const cacheAll = results.filter((r) => r.policy !== "model").length;
const after = drifted
  .map((r) => r.fallbackAfter)
  .filter((n): n is number => n !== null)
  .sort((a, b) => a - b);
const middle = (after.length - 1) / 2;
const median =
  after.length === drifted.length && after.length > 0
    ? (after[Math.floor(middle)] + after[Math.ceil(middle)]) / 2
    : null;
const falseAlarms = results.filter((r) => !r.drift && r.fallbackAfter !== null).length;
process.stdout.write(
  `\n${LOOP_SIZE.users} users over ${LOOP_SIZE.days} days, drift from day ${DRIFT_DAY} (the test period): the guardrail fell back on ${after.length} of ${drifted.length} drifted seeds whose bundle let the model decide, median after ${median ?? "—"} listens with feedback (range ${after[0] ?? "—"}–${after.at(-1) ?? "—"}); ${cacheAll} runs' bundles already cached everything (policy cache-all); without drift it fell back on ${falseAlarms} of ${seeds} seeds\n`,
);
if (args.json) {
  writeFileSync(
    args.json,
    `${JSON.stringify({ seeds, size: LOOP_SIZE, driftDay: DRIFT_DAY, medianFallbackAfter: median, cacheAllRuns: cacheAll, falseAlarms, results }, null, 2)}\n`,
  );
}
