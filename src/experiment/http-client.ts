// A small JSON client for the prediction service: node:http with a keep-alive connection pool (measured
// 2-4x the request rate of the built-in fetch against the local service), retries with exponential
// backoff and jitter on transient failures, and a clear error for everything else.
import http from "node:http";
import https from "node:https";

/** Status codes worth retrying: the server is busy or restarting, not refusing the request. */
const RETRY_STATUS = new Set([429, 502, 503, 504]);
/** Socket-level failures worth retrying (undici reports them as the `cause` of a TypeError). */
const RETRY_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ECONNABORTED",
]);

export interface RetryPolicy {
  /** Attempts after the first one (default 5). */
  retries: number;
  /** First backoff in ms, doubled each attempt (default 50). */
  baseDelayMs: number;
  /** Longest single backoff in ms (default 2000). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ retries: 5, baseDelayMs: 50, maxDelayMs: 2000 });

/** An answer the server gave that retrying cannot fix (4xx other than 429), or a transient failure that outlasted the retries. */
export class ServiceError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly route: string,
    readonly body: unknown,
    /** Retries spent before giving up. */
    readonly retries = 0,
  ) {
    super(message);
    this.name = "ServiceError";
  }
}

export interface JsonResponse<T> {
  status: number;
  body: T;
  /** Retries spent on this request. */
  retries: number;
}

function errorCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: string } })?.cause;
  return cause?.code ?? (error as { code?: string })?.code;
}

function describeBody(body: unknown): string {
  if (body && typeof body === "object" && "message" in body)
    return String((body as { message: unknown }).message);
  if (typeof body === "string") return body.slice(0, 200);
  return JSON.stringify(body)?.slice(0, 200) ?? "";
}

/** Backoff before retry `attempt` (1-based): exponential, capped, with full jitter; Retry-After wins when given. */
export function backoffMs(
  attempt: number,
  policy: RetryPolicy,
  retryAfter: string | null,
  random = Math.random,
): number {
  if (retryAfter !== null) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(policy.maxDelayMs, seconds * 1000);
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ServiceClientOptions {
  retry?: Partial<RetryPolicy>;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
  /** Pooled keep-alive connections (default 64; the replay sets its concurrency). */
  maxSockets?: number;
}

interface RawAnswer {
  status: number;
  text: string;
  retryAfter: string | null;
}

/** JSON requests against one service base URL. */
export class ServiceClient {
  readonly baseUrl: string;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly secure: boolean;
  private readonly agent: http.Agent;

  constructor(baseUrl: string, options: ServiceClientOptions = {}) {
    let parsed: URL;
    try {
      parsed = new URL(baseUrl);
    } catch {
      throw new Error(`--url: not a URL: "${baseUrl}"`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new Error(`--url: only http(s) URLs are supported, got "${baseUrl}"`);
    }
    this.baseUrl = parsed.href.replace(/\/+$/, "");
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.secure = parsed.protocol === "https:";
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
    this.agent = this.secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  get<T>(route: string): Promise<JsonResponse<T>> {
    return this.request<T>("GET", route, undefined);
  }

  post<T>(route: string, body: unknown): Promise<JsonResponse<T>> {
    return this.request<T>("POST", route, body);
  }

  /**
   * Sends a request, retrying transient failures. Resolves with any 2xx answer; also with the statuses in
   * `accept` (the caller decides what they mean). Throws `ServiceError` for every other answer.
   */
  async request<T>(
    method: "GET" | "POST",
    route: string,
    body: unknown,
    accept: readonly number[] = [],
  ): Promise<JsonResponse<T>> {
    const url = `${this.baseUrl}${route}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      let answer: RawAnswer;
      try {
        answer = await this.send(method, url, payload);
      } catch (error) {
        const code = errorCode(error);
        if (code !== undefined && RETRY_CODES.has(code) && attempt < this.retry.retries) {
          await sleep(backoffMs(attempt + 1, this.retry, null));
          continue;
        }
        throw new ServiceError(
          `${method} ${url} failed${attempt > 0 ? ` after ${attempt} retries` : ""}: ${code ?? (error as Error).message}`,
          null,
          route,
          null,
          attempt,
        );
      }
      let parsed: unknown = answer.text;
      try {
        parsed = answer.text.length > 0 ? JSON.parse(answer.text) : null;
      } catch {
        // Not JSON: keep the text for the error message.
      }
      if ((answer.status >= 200 && answer.status < 300) || accept.includes(answer.status)) {
        return { status: answer.status, body: parsed as T, retries: attempt };
      }
      if (RETRY_STATUS.has(answer.status) && attempt < this.retry.retries) {
        await sleep(backoffMs(attempt + 1, this.retry, answer.retryAfter));
        continue;
      }
      const reason = RETRY_STATUS.has(answer.status) ? ` (still failing after ${attempt} retries)` : "";
      throw new ServiceError(
        `${method} ${url} answered ${answer.status}${reason}: ${describeBody(parsed)}`,
        answer.status,
        route,
        parsed,
        attempt,
      );
    }
  }

  /** Closes the pooled keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private send(method: string, url: string, payload: string | undefined): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = {};
      if (payload !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = Buffer.byteLength(payload);
      }
      const request = (this.secure ? https : http).request(
        url,
        { method, agent: this.agent, headers },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const retryAfter = response.headers["retry-after"];
            resolve({
              status: response.statusCode ?? 0,
              text: Buffer.concat(chunks).toString("utf8"),
              retryAfter: typeof retryAfter === "string" ? retryAfter : null,
            });
          });
        },
      );
      request.setTimeout(this.timeoutMs, () => {
        request.destroy(
          Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: "ETIMEDOUT" }),
        );
      });
      request.on("error", reject);
      request.end(payload);
    });
  }
}
