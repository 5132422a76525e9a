// The A/B replay: ordering, listen selection, retries and aborts, and a full replay against the real service.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backoffMs, DEFAULT_RETRY, ServiceClient } from "../../src/experiment/http-client.ts";
import {
  ReplayAbortedError,
  type ReplayListen,
  type ReplaySummary,
  replayAgainstService,
  runReplayCommand,
  selectReplayListens,
  UserOrderedQueue,
} from "../../src/experiment/replay.ts";
import type { ListenTable } from "../../src/listens/types.ts";
import { readDecisionRecords } from "../../src/serve/log-export.ts";
import { timeSplit } from "../../src/train/split.ts";
import { type ReplayFixture, startReplayFixture } from "./replay.fixture.ts";

class Collector extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("UserOrderedQueue", () => {
  it("never hands out two listens of one user at once and keeps each user's order", async () => {
    const users = Array.from({ length: 300 }, (_, i) => (i * 7919) % 11);
    const queue = new UserOrderedQueue((i) => users[i], users.length);
    const inFlight = new Set<number>();
    const completedPerUser = new Map<number, number[]>();
    let overlaps = 0;
    const worker = async () => {
      for (;;) {
        const i = await queue.take();
        if (i < 0) return;
        if (inFlight.has(users[i])) overlaps++;
        inFlight.add(users[i]);
        await sleep((i * 13) % 4);
        inFlight.delete(users[i]);
        const list = completedPerUser.get(users[i]) ?? [];
        list.push(i);
        completedPerUser.set(users[i], list);
        queue.done(i);
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    expect(overlaps).toBe(0);
    let total = 0;
    for (const list of completedPerUser.values()) {
      total += list.length;
      expect(list).toEqual([...list].sort((a, b) => a - b));
    }
    expect(total).toBe(users.length);
  });

  it("hands out listens of distinct users in time order", async () => {
    const queue = new UserOrderedQueue((i) => i, 5);
    const order = [];
    for (let k = 0; k < 5; k++) order.push(await queue.take());
    expect(order).toEqual([0, 1, 2, 3, 4]);
    for (const i of order) queue.done(i);
    expect(await queue.take()).toBe(-1);
  });

  it("gives a waiting listen of a freed user before newer listens", async () => {
    const users = [1, 1, 2, 3];
    const queue = new UserOrderedQueue((i) => users[i], users.length);
    expect(await queue.take()).toBe(0);
    expect(await queue.take()).toBe(2); // listen 1 waits for user 1
    queue.done(0);
    expect(await queue.take()).toBe(1);
    expect(await queue.take()).toBe(3);
  });
});

function table(
  rows: { user: number; session: number; position: number; start: number; skipped: number }[],
): ListenTable {
  const n = rows.length;
  return {
    length: n,
    userId: Int32Array.from(rows, (r) => r.user),
    trackIndex: Int32Array.from(rows, (_, i) => i % 2),
    sessionId: Int32Array.from(rows, (r) => r.session),
    startMs: Float64Array.from(rows, (r) => r.start),
    sessionStartMs: Float64Array.from(rows, (r) => r.start),
    skipped: Uint8Array.from(rows, (r) => r.skipped),
    heardMs: Float64Array.from(rows, (r) => (r.skipped ? 1000 : 5000)),
    position: Int32Array.from(rows, (r) => r.position),
    liked: new Uint8Array(n),
    premium: new Int8Array(n),
  };
}

const catalog = {
  tracks: [
    { id: "t0", durationMs: 5000 },
    { id: "t1", durationMs: 5000 },
  ],
} as unknown as Parameters<typeof selectReplayListens>[1];

describe("selectReplayListens", () => {
  const listens = table([
    { user: 1, session: 10, position: 0, start: 100, skipped: 1 },
    { user: 2, session: 20, position: 0, start: 150, skipped: 0 },
    { user: 1, session: 10, position: 1, start: 200, skipped: 0 },
    { user: 1, session: 10, position: 2, start: 300, skipped: 1 },
    { user: 2, session: 20, position: 1, start: 400, skipped: 1 },
  ]);

  it("takes the listens from the start time on, with the previous outcome of their session", () => {
    const s = selectReplayListens(listens, catalog, { fromMs: 200 });
    expect(s.available).toBe(3);
    expect(s.listens.map((l) => [l.userId, l.position, l.previousSkipped, l.skipped])).toEqual([
      [1, 1, true, false],
      [1, 2, false, true],
      [2, 1, false, true],
    ]);
    expect(s.listens[0].trackId).toBe("t0");
    expect(s.listens[0].heardMs).toBe(5000);
  });

  it("has no previous outcome at a session's first listen and honours the limit", () => {
    const s = selectReplayListens(listens, catalog, { fromMs: 0, limit: 2 });
    expect(s.available).toBe(5);
    expect(s.listens.map((l) => l.previousSkipped)).toEqual([null, null]);
  });

  it("defaults to the time split's test start", () => {
    const s = selectReplayListens(listens, catalog);
    expect(s.fromMs).toBe(timeSplit(listens.startMs).testStartMs);
    expect(s.listens.length).toBe(1);
  });
});

describe("backoffMs", () => {
  it("grows exponentially within [ceiling/2, ceiling] and honours Retry-After", () => {
    const policy = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffMs(1, policy, null, () => 0)).toBe(50);
    expect(backoffMs(1, policy, null, () => 1)).toBe(100);
    expect(backoffMs(3, policy, null, () => 1)).toBe(400);
    expect(backoffMs(10, policy, null, () => 1)).toBe(1000);
    expect(backoffMs(1, policy, "0.25", () => 1)).toBe(250);
    expect(backoffMs(1, policy, "60", () => 1)).toBe(1000);
  });

  it("rejects a URL that is not http(s)", () => {
    expect(() => new ServiceClient("ftp://x")).toThrow(/only http/);
    expect(() => new ServiceClient("not a url")).toThrow(/not a URL/);
  });
});

/** A flaky imitation of the service's predict/feedback API: fails the first attempts of every request. */
function flakyService(
  failures: (attempt: number, req: http.IncomingMessage, res: http.ServerResponse) => boolean,
) {
  const attempts = new Map<string, number>();
  let decisions = 0;
  const server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c) => {
      text += c;
    });
    req.on("end", () => {
      if (req.url === "/ready") {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ status: "ready", bundle_version: "flaky" }));
        return;
      }
      const key = `${req.url} ${text}`;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      if (failures(attempt, req, res)) return;
      res.setHeader("content-type", "application/json");
      if (req.url === "/v1/predict") {
        decisions++;
        res.end(JSON.stringify({ decision_id: `d${decisions}`, prediction: "SKIP", variant: "a" }));
      } else {
        const body = JSON.parse(text) as { outcome: string };
        res.end(JSON.stringify({ decision_id: "x", matched: true, correct: body.outcome === "skipped" }));
      }
    });
  });
  return server;
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const fakeListens: ReplayListen[] = Array.from({ length: 12 }, (_, i) => ({
  userId: i % 3,
  trackId: `t${i}`,
  sessionId: i % 3,
  position: Math.floor(i / 3),
  startMs: 1000 + i,
  previousSkipped: null,
  skipped: i % 2 === 0,
  heardMs: 1000,
}));

describe("replay retries", () => {
  it("retries 503, 429 and reset connections, then succeeds", async () => {
    const server = flakyService((attempt, _req, res) => {
      if (attempt === 1) {
        res.statusCode = 503;
        res.setHeader("retry-after", "0");
        res.end("{}");
        return true;
      }
      if (attempt === 2) {
        res.statusCode = 429;
        res.end("{}");
        return true;
      }
      if (attempt === 3) {
        res.socket?.destroy();
        return true;
      }
      return false;
    });
    const url = await listen(server);
    try {
      const s = await replayAgainstService(fakeListens, { url, concurrency: 4, retry: { baseDelayMs: 1 } });
      expect(s.answered).toBe(12);
      expect(s.feedback).toBe(12);
      expect(s.errors).toBe(0);
      expect(s.retries).toBe(12 * 2 * 3);
      expect(s.bundleVersion).toBe("flaky");
      expect(s.accuracy).toBe(0.5); // the imitation always predicts SKIP; half the listens were skipped
    } finally {
      server.close();
    }
  });

  it("counts a listen as an error when a transient failure outlasts the retries, and carries on", async () => {
    const broken = flakyService((_attempt, _req, res) => {
      res.statusCode = 503;
      res.end(JSON.stringify({ message: "busy" }));
      return true;
    });
    const url = await listen(broken);
    try {
      const s = await replayAgainstService(fakeListens.slice(0, 3), {
        url,
        concurrency: 2,
        retry: { retries: 2, baseDelayMs: 1 },
      });
      expect(s.errors).toBe(3);
      expect(s.answered).toBe(0);
      expect(s.retries).toBe(6);
      expect(s.errorSamples[0]).toMatch(/answered 503 \(still failing after 2 retries\): busy/);
    } finally {
      broken.close();
    }
  });
});

describe("replay against the real service", () => {
  let fixture: ReplayFixture;
  let summary: ReplaySummary;
  let replayed: ReplayListen[];

  beforeAll(async () => {
    fixture = await startReplayFixture();
    const selection = selectReplayListens(fixture.listens, fixture.delivery.catalog);
    replayed = selection.listens;
    summary = await replayAgainstService(replayed, { url: fixture.url, route: "v1", concurrency: 8 });
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it("sends every test-period listen and its outcome", () => {
    expect(replayed.length).toBeGreaterThan(500);
    expect(summary.sent).toBe(replayed.length);
    expect(summary.answered).toBe(replayed.length);
    expect(summary.feedback).toBe(replayed.length);
    expect(summary.errors).toBe(0);
    expect(summary.requests).toBe(2 * replayed.length);
    expect(summary.bundleVersion).toMatch(/^\d{4}-.*-[0-9a-f]{8}$/);
    expect(Object.keys(summary.byVariant).sort()).toEqual(["logistic", "naive"]);
  });

  it("logs one decision per listen, joined with the listen's real outcome and session context", () => {
    const records = readDecisionRecords(fixture.db).filter((r) => r.route === "/v1/predict");
    expect(records).toHaveLength(replayed.length);
    const byListen = new Map(replayed.map((l) => [`${l.userId}/${l.sessionId}/${l.position}`, l]));
    let correct = 0;
    for (const r of records) {
      const listen = byListen.get(`${r.userId}/${r.sessionId}/${r.position}`);
      expect(listen, `decision ${r.decisionId}`).toBeDefined();
      expect(r.trackId).toBe(listen?.trackId);
      expect(r.outcome?.skipped).toBe(listen?.skipped);
      if (listen && Number.isFinite(listen.heardMs))
        expect(r.outcome?.heardMs).toBeCloseTo(listen.heardMs, 6);
      expect(r.experiment).toBe("skipwise-ab");
      if ((r.decision === "SKIP") === r.outcome?.skipped) correct++;
    }
    expect(summary.accuracy).toBeCloseTo(correct / records.length, 12);
  });

  it("sends each user's listens one after another, in time order", () => {
    const records = readDecisionRecords(fixture.db).filter((r) => r.route === "/v1/predict");
    const decidedAt = new Map(records.map((r) => [`${r.userId}/${r.sessionId}/${r.position}`, r.tsMs]));
    const lastPerUser = new Map<number, number>();
    for (const l of replayed) {
      const t = decidedAt.get(`${l.userId}/${l.sessionId}/${l.position}`) as number;
      expect(t).toBeGreaterThanOrEqual(lastPerUser.get(l.userId) ?? 0);
      lastPerUser.set(l.userId, t);
    }
  });

  it("replays through the reference /abtest route too", async () => {
    const few = replayed.slice(0, 40);
    const s = await replayAgainstService(few, { url: fixture.url, route: "abtest", concurrency: 4 });
    expect(s.answered).toBe(40);
    expect(s.feedback).toBe(40);
    const records = readDecisionRecords(fixture.db).filter((r) => r.route === "/abtest");
    expect(records).toHaveLength(40);
    expect(records.every((r) => r.outcome !== null && r.sessionId === null && r.variant !== null)).toBe(true);
  });

  it("runs as `skipwise abtest replay` with --from, --limit and --route", async () => {
    const stdout = new Collector();
    const from = new Date(replayed[100].startMs).toISOString();
    const s = await runReplayCommand({
      url: fixture.url,
      data: fixture.data,
      from,
      limit: 25,
      route: "abtest",
      concurrency: 3,
      stdout,
      stderr: stdout as unknown as NodeJS.WriteStream,
    });
    expect(s.listens).toBe(25);
    expect(s.answered).toBe(25);
    expect(stdout.text).toMatch(
      new RegExp(`^replaying 25 of \\d+ listens from ${from.replace(/[.]/g, "\\.")}\n`),
    );
    expect(stdout.text).toMatch(/sent 25, answered 25, feedback 25, errors 0, retries 0; 50 requests in/);
    expect(stdout.text).toMatch(/accuracy seen: \d+\.\d %/);
    await expect(
      runReplayCommand({ url: fixture.url, data: fixture.data, route: "grpc", stdout }),
    ).rejects.toThrow(/--route must be "abtest" or "v1"/);
    await expect(
      runReplayCommand({ url: fixture.url, data: fixture.data, from: "yesterday", stdout }),
    ).rejects.toThrow(/--from must be an ISO time/);
  });

  it("stops with a clear message on a 4xx answer", async () => {
    const bad = [{ ...replayed[0], userId: -1 }];
    const error = await replayAgainstService(bad, { url: fixture.url, concurrency: 1 }).catch((e) => e);
    expect(error).toBeInstanceOf(ReplayAbortedError);
    expect(error.message).toMatch(/answered 400: field "user_id" must be >= 0/);
    expect(error.summary.answered).toBe(0);
  });
});
