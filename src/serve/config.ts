// `skipwise serve` configuration: command-line flags win over SKIPWISE_* environment variables,
// which win over defaults. Every bad value is reported with the flag and variable it came from.

export interface ServeConfig {
  bundle: string;
  /** Delivery the bundle was trained on (its catalogue); default: the path the bundle records. */
  data?: string;
  db: string;
  host: string;
  port: number;
  /** Path of an experiment config JSON; absent = the bundle's naive vs default model, 50/50. */
  experiment?: string;
  apiKey?: string;
  /** Requests per client per window; 0 = no rate limit. */
  rateLimit: number;
  rateWindowMs: number;
  bodyLimit: number;
  logLevel: string;
  /** Extra group-commit delay for the decision log, ms (0 = commit at the end of each event-loop turn). */
  commitDelayMs: number;
  /**
   * "policy" (default): decisions follow the bundle's recommended policy (cache everything answers PLAY).
   * "models": every variant's model decides at its own threshold, whatever the policy: for an A/B test run
   * on purpose to gather the online evidence the offline choice lacked.
   */
  decisions: "policy" | "models";
}

export type ServeFlags = Partial<Record<keyof ServeConfig, string | number | undefined>>;

interface Setting {
  key: keyof ServeConfig;
  flag: string;
  env: string;
  kind: "string" | "int";
  /** For strings: the accepted values. */
  oneOf?: readonly string[];
  default?: string | number;
  min?: number;
  max?: number;
}

const SETTINGS: Setting[] = [
  { key: "bundle", flag: "--bundle", env: "SKIPWISE_BUNDLE", kind: "string" },
  { key: "data", flag: "--data", env: "SKIPWISE_DATA", kind: "string" },
  { key: "db", flag: "--db", env: "SKIPWISE_DB", kind: "string", default: "decisions.db" },
  { key: "host", flag: "--host", env: "SKIPWISE_HOST", kind: "string", default: "127.0.0.1" },
  { key: "port", flag: "--port", env: "SKIPWISE_PORT", kind: "int", default: 8000, min: 0, max: 65535 },
  { key: "experiment", flag: "--experiment", env: "SKIPWISE_EXPERIMENT", kind: "string" },
  { key: "apiKey", flag: "--api-key", env: "SKIPWISE_API_KEY", kind: "string" },
  { key: "rateLimit", flag: "--rate-limit", env: "SKIPWISE_RATE_LIMIT", kind: "int", default: 0, min: 0 },
  {
    key: "rateWindowMs",
    flag: "--rate-window-ms",
    env: "SKIPWISE_RATE_WINDOW_MS",
    kind: "int",
    default: 60_000,
    min: 1,
  },
  {
    key: "bodyLimit",
    flag: "--body-limit",
    env: "SKIPWISE_BODY_LIMIT",
    kind: "int",
    default: 1024 * 1024,
    min: 64,
  },
  {
    key: "logLevel",
    flag: "--log-level",
    env: "SKIPWISE_LOG_LEVEL",
    kind: "string",
    default: "info",
    oneOf: ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
  },
  {
    key: "decisions",
    flag: "--decisions",
    env: "SKIPWISE_DECISIONS",
    kind: "string",
    default: "policy",
    oneOf: ["policy", "models"],
  },
  {
    key: "commitDelayMs",
    flag: "--commit-delay-ms",
    env: "SKIPWISE_COMMIT_DELAY_MS",
    kind: "int",
    default: 0,
    min: 0,
    max: 1000,
  },
];

export function resolveServeConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const out: Record<string, string | number> = {};
  for (const setting of SETTINGS) {
    const fromFlag = flags[setting.key];
    const fromEnv = env[setting.env];
    const source = fromFlag !== undefined ? setting.flag : `$${setting.env}`;
    const raw =
      fromFlag ?? (fromEnv !== undefined && fromEnv !== "" ? fromEnv : undefined) ?? setting.default;
    if (raw === undefined) continue;
    if (setting.kind === "int") {
      const value = typeof raw === "number" ? raw : Number(raw);
      if (!Number.isInteger(value)) throw new Error(`${source}: expected an integer, got "${raw}"`);
      if (setting.min !== undefined && value < setting.min)
        throw new Error(`${source}: must be ≥ ${setting.min}`);
      if (setting.max !== undefined && value > setting.max)
        throw new Error(`${source}: must be ≤ ${setting.max}`);
      out[setting.key] = value;
    } else {
      if (setting.oneOf && !setting.oneOf.includes(String(raw)))
        throw new Error(`${source}: one of ${setting.oneOf.join(", ")}, got "${raw}"`);
      out[setting.key] = String(raw);
    }
  }
  if (out.bundle === undefined) throw new Error("a bundle is required: --bundle <dir> or $SKIPWISE_BUNDLE");
  return out as unknown as ServeConfig;
}
