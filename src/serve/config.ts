// `skipwise serve` configuration: command-line flags win over SKIPWISE_* environment variables,
// which win over defaults. Every bad value is reported with the flag and variable it came from.
import { closeSync, openSync, readSync } from "node:fs";

export interface ServeConfig {
  bundle: string;
  /** Delivery the bundle was trained on (its catalogue); required to load a bundle (bundles record no path). */
  data?: string;
  db: string;
  /** Redis URL of the shared online feature state (`skipwise state load` fills it); absent = in this process. */
  redis?: string;
  /** Key prefix of that state in Redis. */
  redisPrefix: string;
  host: string;
  port: number;
  /** Path of an experiment config JSON; absent = the bundle's naive vs default model, 50/50. */
  experiment?: string;
  /**
   * Key for the admin routes: from --api-key-file / $SKIPWISE_API_KEY_FILE (preferred: argv is visible in
   * `ps`) or --api-key / $SKIPWISE_API_KEY; at least MIN_API_KEY_LENGTH characters.
   */
  apiKey?: string;
  /**
   * Requests per client (IP) per window on every route except the health, readiness and metrics probes;
   * 0 = no rate limit. The default bounds what one unauthenticated client can write.
   */
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
  /**
   * "on" (default): a variant whose model is proven (always-valid test) to cost more than caching everything
   * serves PLAY until the evidence turns; "off": the models always decide.
   */
  guardrail: "on" | "off";
  /** Longest time to receive a whole request (headers and body); slower ones get 408. */
  requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this long. */
  keepAliveTimeoutMs: number;
  /** After SIGTERM, connections still open this long after draining began are closed. */
  shutdownTimeoutMs: number;
}

/** 60,000 requests per minute per client: far above one device's needs, far below flooding the service. */
export const DEFAULT_RATE_LIMIT = 60_000;

export type ServeFlags = Partial<Record<keyof ServeConfig | "apiKeyFile", string | number | undefined>>;

/** Shortest admin key accepted (`openssl rand -hex 32` gives 64). */
export const MIN_API_KEY_LENGTH = 16;
/** Largest key file read: a key file holds one line, not a document. */
export const MAX_API_KEY_FILE_BYTES = 4096;

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
  { key: "redis", flag: "--redis", env: "SKIPWISE_REDIS", kind: "string" },
  {
    key: "redisPrefix",
    flag: "--redis-prefix",
    env: "SKIPWISE_REDIS_PREFIX",
    kind: "string",
    default: "skipwise:",
  },
  { key: "host", flag: "--host", env: "SKIPWISE_HOST", kind: "string", default: "127.0.0.1" },
  { key: "port", flag: "--port", env: "SKIPWISE_PORT", kind: "int", default: 8000, min: 0, max: 65535 },
  { key: "experiment", flag: "--experiment", env: "SKIPWISE_EXPERIMENT", kind: "string" },
  {
    key: "rateLimit",
    flag: "--rate-limit",
    env: "SKIPWISE_RATE_LIMIT",
    kind: "int",
    default: DEFAULT_RATE_LIMIT,
    min: 0,
  },
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
    key: "guardrail",
    flag: "--guardrail",
    env: "SKIPWISE_GUARDRAIL",
    kind: "string",
    default: "on",
    oneOf: ["on", "off"],
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
  {
    key: "requestTimeoutMs",
    flag: "--request-timeout-ms",
    env: "SKIPWISE_REQUEST_TIMEOUT_MS",
    kind: "int",
    default: 10_000,
    min: 100,
    max: 600_000,
  },
  {
    key: "keepAliveTimeoutMs",
    flag: "--keep-alive-timeout-ms",
    env: "SKIPWISE_KEEP_ALIVE_TIMEOUT_MS",
    kind: "int",
    default: 5_000,
    min: 100,
    max: 600_000,
  },
  {
    key: "shutdownTimeoutMs",
    flag: "--shutdown-timeout-ms",
    env: "SKIPWISE_SHUTDOWN_TIMEOUT_MS",
    kind: "int",
    default: 10_000,
    min: 0,
    max: 600_000,
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
  const apiKey = resolveApiKey(flags, env);
  if (apiKey !== undefined) out.apiKey = apiKey;
  return out as unknown as ServeConfig;
}

const given = (value: string | number | undefined): string | undefined =>
  value === undefined ? undefined : String(value);
const set = (value: string | undefined): string | undefined =>
  value !== undefined && value !== "" ? value : undefined;

/**
 * The admin key: a flag wins over the environment, as everywhere; the key and the key file from the same
 * place (both flags, or both variables) are refused rather than one silently ignored.
 */
function resolveApiKey(flags: ServeFlags, env: NodeJS.ProcessEnv): string | undefined {
  const flagKey = given(flags.apiKey);
  const flagFile = given(flags.apiKeyFile);
  if (flagKey !== undefined && flagFile !== undefined)
    throw new Error("--api-key and --api-key-file: give one, not both (prefer --api-key-file)");
  if (flagFile !== undefined) return readApiKeyFile(flagFile, "--api-key-file");
  if (flagKey !== undefined) return checkApiKey(flagKey, "--api-key");
  const envKey = set(env.SKIPWISE_API_KEY);
  const envFile = set(env.SKIPWISE_API_KEY_FILE);
  if (envKey !== undefined && envFile !== undefined)
    throw new Error("$SKIPWISE_API_KEY and $SKIPWISE_API_KEY_FILE are both set: set one");
  if (envFile !== undefined) return readApiKeyFile(envFile, "$SKIPWISE_API_KEY_FILE");
  if (envKey !== undefined) return checkApiKey(envKey, "$SKIPWISE_API_KEY");
  return undefined;
}

/** Reads at most MAX_API_KEY_FILE_BYTES (+1 to notice more) of a key file; trailing newlines are dropped. */
function readApiKeyFile(path: string, source: string): string {
  const where = `${source} ${JSON.stringify(path)}`;
  const buffer = Buffer.alloc(MAX_API_KEY_FILE_BYTES + 1);
  let length = 0;
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length === buffer.length) break;
    }
  } catch (error) {
    throw new Error(`${where}: cannot read the API key file: ${(error as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (length > MAX_API_KEY_FILE_BYTES)
    throw new Error(
      `${where}: larger than ${MAX_API_KEY_FILE_BYTES} bytes; the file should hold only the key`,
    );
  const key = buffer.toString("utf8", 0, length).replace(/[\r\n]+$/, "");
  if (key === "") throw new Error(`${where}: the API key file is empty`);
  return checkApiKey(key, where);
}

function checkApiKey(key: string, source: string): string {
  if (/[\r\n]/.test(key)) throw new Error(`${source}: the API key must be a single line`);
  if (key.trim() !== key) throw new Error(`${source}: the API key starts or ends with whitespace`);
  if (key.length < MIN_API_KEY_LENGTH)
    throw new Error(
      `${source}: the API key must be at least ${MIN_API_KEY_LENGTH} characters, got ${key.length} ` +
        "(e.g. openssl rand -hex 32)",
    );
  return key;
}
