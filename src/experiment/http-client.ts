// A small JSON client for the prediction service: Node's fetch (keep-alive connection pool), retries with
// exponential backoff and jitter on transient failures, and a clear error for everything else.

/** Status codes worth retrying: the server is busy or restarting, not refusing the request. */
const RETRY_STATUS = new Set([429, 502, 503, 504]);
/** Socket-level failures worth retrying (undici reports them as the `cause` of a TypeError). */
const RETRY_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
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
}

/** JSON requests against one service base URL. */
export class ServiceClient {
  readonly baseUrl: string;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;

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
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: payload === undefined ? undefined : { "content-type": "application/json" },
          body: payload,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        const code =
          errorCode(error) ?? ((error as Error)?.name === "TimeoutError" ? "ETIMEDOUT" : undefined);
        if (code !== undefined && RETRY_CODES.has(code) && attempt < this.retry.retries) {
          await sleep(backoffMs(attempt + 1, this.retry, null));
          continue;
        }
        throw new ServiceError(
          `${method} ${url} failed${attempt > 0 ? ` after ${attempt} retries` : ""}: ${code ?? (error as Error).message}`,
          null,
          route,
          null,
        );
      }
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text.length > 0 ? JSON.parse(text) : null;
      } catch {
        // Not JSON: keep the text for the error message.
      }
      if ((response.status >= 200 && response.status < 300) || accept.includes(response.status)) {
        return { status: response.status, body: parsed as T, retries: attempt };
      }
      if (RETRY_STATUS.has(response.status) && attempt < this.retry.retries) {
        await sleep(backoffMs(attempt + 1, this.retry, response.headers.get("retry-after")));
        continue;
      }
      const reason = RETRY_STATUS.has(response.status) ? ` (still failing after ${attempt} retries)` : "";
      throw new ServiceError(
        `${method} ${url} answered ${response.status}${reason}: ${describeBody(parsed)}`,
        response.status,
        route,
        parsed,
      );
    }
  }
}
