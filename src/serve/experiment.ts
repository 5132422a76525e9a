// A/B experiment configuration and sticky per-user assignment.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { GENRE_RULE_MODEL } from "../models/registry.ts";
import { type BucketRange, bucketRanges, chooseVariant, growthbookHash } from "./bucketing.ts";

const variantSchema = z.object({
  name: z.string().min(1),
  model: z.string().min(1),
  weight: z.number().positive(),
});

export const experimentConfigSchema = z.object({
  name: z.string().min(1),
  /** Hash seed; GrowthBook uses the experiment key when no seed is set, and so do we. */
  salt: z.string().optional(),
  variants: z.array(variantSchema).min(1),
  /** Score every variant's model on each request, log them all, serve the assigned one. */
  shadow: z.boolean().default(false),
});

export type ExperimentConfig = z.infer<typeof experimentConfigSchema>;
export type VariantConfig = z.infer<typeof variantSchema>;

/**
 * The default experiment: the reference's two arms, the genre rule (GENRE_RULE_MODEL, "naive") vs the
 * bundle's default model, 50/50; each variant is named after its model.
 */
export function defaultExperiment(modelNames: readonly string[], defaultModel: string): ExperimentConfig {
  const variants: VariantConfig[] = [];
  if (modelNames.includes(GENRE_RULE_MODEL) && defaultModel !== GENRE_RULE_MODEL) {
    variants.push({ name: GENRE_RULE_MODEL, model: GENRE_RULE_MODEL, weight: 0.5 });
  }
  variants.push({ name: defaultModel, model: defaultModel, weight: variants.length > 0 ? 0.5 : 1 });
  return { name: "skipwise-ab", variants, shadow: false };
}

export function parseExperimentConfig(json: unknown, source: string): ExperimentConfig {
  const parsed = experimentConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length > 0 ? issue.path.join(".") : "(root)";
    throw new Error(`${source}: experiment config field "${field}": ${issue.message}`);
  }
  const names = new Set<string>();
  for (const variant of parsed.data.variants) {
    if (names.has(variant.name)) throw new Error(`${source}: duplicate variant name "${variant.name}"`);
    names.add(variant.name);
  }
  return parsed.data;
}

export function readExperimentConfig(path: string): ExperimentConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`experiment config ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`experiment config ${path}: not valid JSON (${(error as Error).message})`);
  }
  return parseExperimentConfig(json, path);
}

/** Deterministic assignment: the same user always lands in the same variant for a given name/salt/weights. */
export class Assigner {
  readonly config: ExperimentConfig;
  readonly seed: string;
  private readonly ranges: BucketRange[];

  constructor(config: ExperimentConfig) {
    this.config = config;
    this.seed = config.salt ?? config.name;
    this.ranges = bucketRanges(config.variants.map((v) => v.weight));
  }

  /** Hash of the user id in [0, 1), as GrowthBook computes it for hashAttribute "id". */
  bucket(userId: number): number {
    return growthbookHash(this.seed, String(userId), 2);
  }

  assign(userId: number): VariantConfig {
    const index = chooseVariant(this.bucket(userId), this.ranges);
    // Rounding can leave a sliver just under 1 outside the last range; it belongs to the last variant.
    return this.config.variants[index < 0 ? this.config.variants.length - 1 : index];
  }

  /** Every model name the experiment needs from the scorer. */
  models(): string[] {
    return [...new Set(this.config.variants.map((v) => v.model))];
  }
}
