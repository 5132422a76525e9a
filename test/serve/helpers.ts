// Test support for the service: a loopback server around buildApp, and small HTTP helpers.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { type AppOptions, buildApp } from "../../src/serve/app.ts";
import { SqliteDecisionLog } from "../../src/serve/sqlite-decision-log.ts";

export interface Running {
  app: FastifyInstance;
  url: string;
  dbPath: string;
  dir: string;
  close(): Promise<void>;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `skipwise-${prefix}-`));
}

/**
 * Polls `condition` (every `intervalMs`, default 20) until it holds; fails naming `what` (and `detail()`,
 * e.g. a child's output) after `timeoutMs` (default 30 s). For waiting on an event instead of sleeping.
 */
export async function waitUntil(
  what: string,
  condition: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number; detail?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${options.detail ? `\n${options.detail()}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 20));
  }
}

/** Starts the real app on 127.0.0.1 with an ephemeral port and a fresh decision log. */
export async function startApp(options: Omit<AppOptions, "log"> & { dbPath?: string }): Promise<Running> {
  const dir = tempDir("serve");
  const dbPath = options.dbPath ?? join(dir, "decisions.db");
  const app = await buildApp({ processMetrics: false, ...options, log: new SqliteDecisionLog(dbPath) });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (!address || typeof address === "string") throw new Error("no TCP address");
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    dbPath,
    dir,
    async close() {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface JsonResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers field by field
  body: any;
  headers: Headers;
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  return postRaw(url, JSON.stringify(body), headers);
}

export async function postRaw(
  url: string,
  text: string,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: text,
  });
  const raw = await response.text();
  let body: unknown = raw;
  try {
    body = JSON.parse(raw);
  } catch {}
  return { status: response.status, body, headers: response.headers };
}

export async function getText(url: string): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(url);
  return { status: response.status, text: await response.text(), headers: response.headers };
}
