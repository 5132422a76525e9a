// The guardrail's whole loop (issue 14), one seed each way: a delivery whose skips stop following the
// listener at its test period makes the served model fall back to prefetching everything; the same seed
// without drift never does. bench/guardrail.ts runs it over 20 seeds and reports the median.
import { describe, expect, it } from "vitest";
import { guardrailLoop } from "../../bench/guardrail-loop.ts";

describe("the live guardrail, generate → train → serve → replay with feedback", () => {
  it("falls back after the signal vanishes, and never on the same seed without drift", async () => {
    const drifted = await guardrailLoop(3, true);
    const steady = await guardrailLoop(3, false);
    expect(drifted.policy).toBe("model");
    expect(steady.policy).toBe("model");
    expect(drifted.fallbackAfter).not.toBeNull();
    expect(drifted.fallbackAfter as number).toBeLessThan(drifted.listens);
    expect(drifted.fallbackShare).toBeGreaterThan(0.1);
    expect(steady.fallbackAfter).toBeNull();
    expect(steady.fallbackShare).toBe(0);
  }, 240_000);
});
