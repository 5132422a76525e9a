// The live guardrail: per experiment variant, an always-valid confidence sequence on the per-listen net saving
// of the variant's model against cache-everything (the bundle's cost model: what prefetching everything would
// have cost on the listen minus what the model's decision cost). Checked after every feedback without inflating
// false alarms (src/base/statistics.ts ConfidenceSequence). When the interval lies wholly below 0 the model is costing more than caching everything: the
// variant falls back to PLAY (prefetch everything) while its model keeps scoring in shadow; when the interval
// reaches 0 again the evidence has turned and the model decides again. A reload starts afresh.
import type { Interval } from "../base/statistics.ts";

/** The statistic the guardrail needs: src/base/statistics.ts `ConfidenceSequence` has this shape. */
export interface AlwaysValidMean {
  add(x: number): void;
  readonly n: number;
  readonly mean: number;
  interval(): Interval;
}

export interface GuardrailOptions {
  /** Off: the models always decide (the net saving is still measured). */
  enabled: boolean;
  /** Creates one variant's sequence (its α and tuning are the caller's). */
  sequence: () => AlwaysValidMean;
}

/** A variant's state: what `onChange` reports and `states()` lists. */
export interface GuardrailEvent {
  variant: string;
  fallback: boolean;
  listens: number;
  meanSaving: number;
  interval: Interval;
}

interface VariantGuard {
  sequence: AlwaysValidMean;
  fallback: boolean;
}

export class Guardrail {
  private readonly variants = new Map<string, VariantGuard>();
  /** Called once per change of a variant's state (fallback on, or back to the model). */
  onChange: ((event: GuardrailEvent) => void) | undefined;

  constructor(readonly options: GuardrailOptions) {}

  /** Whether the variant's decisions are PLAY whatever its model says. */
  isFallback(variant: string): boolean {
    return this.options.enabled && (this.variants.get(variant)?.fallback ?? false);
  }

  /** One listen's net saving of the variant's model (not of what was served) against cache-everything. */
  observe(variant: string, saving: number): void {
    if (!Number.isFinite(saving)) return;
    let guard = this.variants.get(variant);
    if (!guard) {
      guard = { sequence: this.options.sequence(), fallback: false };
      this.variants.set(variant, guard);
    }
    guard.sequence.add(saving);
    if (!this.options.enabled) return;
    const interval = guard.sequence.interval();
    const fallback = interval.upper < 0;
    if (fallback === guard.fallback) return;
    guard.fallback = fallback;
    this.onChange?.({
      variant,
      fallback,
      listens: guard.sequence.n,
      meanSaving: guard.sequence.mean,
      interval,
    });
  }

  /** Every variant seen so far and what its evidence says (also while disabled: it is still measured). */
  states(): GuardrailEvent[] {
    return [...this.variants].map(([variant, g]) => ({
      variant,
      fallback: this.isFallback(variant),
      listens: g.sequence.n,
      meanSaving: g.sequence.mean,
      interval: g.sequence.interval(),
    }));
  }

  /** A reload: the new bundle's models start with no evidence against them. */
  reset(): void {
    for (const [variant, guard] of this.variants) {
      if (guard.fallback) {
        guard.fallback = false;
        this.onChange?.({
          variant,
          fallback: false,
          listens: 0,
          meanSaving: 0,
          interval: { estimate: Number.NaN, lower: -Infinity, upper: Infinity },
        });
      }
    }
    this.variants.clear();
  }
}
