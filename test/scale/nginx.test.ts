// nginx from the shipped template (deploy/nginx.conf) over real upstream processes: requests are spread over
// the replicas with the client's address forwarded; after kill -9 of one replica every request, POSTs
// included, is answered by the other (a refused connect is retried: nothing reached the dead one); a POST
// that reached a replica which then failed is answered 502 and never replayed on another (a GET is); a
// reload switches the upstreams.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer as createHttpServer, request, type Server } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Nginx, nginxBin, startNginx } from "./nginx.ts";
import { exited, scaleServersOrSkip } from "./servers.ts";

const skip = nginxBin() === null ? scaleServersOrSkip(["nginx"]) : false;

interface Answer {
  status: number;
  body: string;
  json?: { name: string; method: string; forwardedFor?: string; bodyBytes: number };
}

/** One request on a fresh connection (each request is its own client connection to nginx). */
function send(url: string, method: "GET" | "POST", body?: unknown): Promise<Answer> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((done, fail) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        headers: payload
          ? { "content-type": "application/json", "content-length": payload.length, connection: "close" }
          : { connection: "close" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => {
          let json: Answer["json"];
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          done({ status: res.statusCode ?? 0, body: text, json });
        });
      },
    );
    req.on("error", fail);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url}: no answer in 10 s`)));
    req.end(payload);
  });
}

/** An upstream replica as its own process (so it can be killed -9): answers who it is and what it got. */
const UPSTREAM = `
const http = require("node:http");
const name = process.argv[1];
const server = http.createServer((req, res) => {
  let bytes = 0;
  req.on("data", (c) => (bytes += c.length));
  req.on("end", () => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ name, method: req.method, forwardedFor: req.headers["x-forwarded-for"], bodyBytes: bytes }));
  });
});
server.keepAliveTimeout = 5000;
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
`;

interface Upstream {
  name: string;
  address: string;
  child: ChildProcess;
}

function startUpstream(name: string): Promise<Upstream> {
  const child = spawn(process.execPath, ["-e", UPSTREAM, name], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((done, fail) => {
    let out = "";
    child.once("exit", (code) => fail(new Error(`upstream ${name} exited (${code}) before listening`)));
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n")) done({ name, address: `127.0.0.1:${Number(line)}`, child });
    });
  });
}

async function kill9(child: ChildProcess): Promise<void> {
  const done = exited(child);
  child.kill("SIGKILL");
  await done;
}

/** An in-process upstream counting what it answered, by method. */
function countingUpstream(
  name: string,
): Promise<{ server: Server; address: string; got: Map<string, number> }> {
  const got = new Map<string, number>();
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on("end", () => {
      got.set(req.method ?? "", (got.get(req.method ?? "") ?? 0) + 1);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ name, method: req.method, bodyBytes: 0 }));
    });
  });
  return new Promise((done) =>
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      done({ server, address: `127.0.0.1:${port}`, got });
    }),
  );
}

/** A replica that takes a whole request and dies before answering: the request may have been acted on. */
function droppingUpstream(): Promise<{ server: NetServer; address: string; received: () => number }> {
  let received = 0;
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let seen = "";
    socket.on("data", (chunk) => {
      seen += chunk.toString("latin1");
      if (seen.includes("\r\n\r\n")) {
        received++;
        socket.resetAndDestroy();
      }
    });
    socket.on("error", () => {});
  });
  return new Promise((done) =>
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      done({ server, address: `127.0.0.1:${port}`, received: () => received });
    }),
  );
}

const closeServer = (server: Server | NetServer) => new Promise<void>((done) => server.close(() => done()));

describe.skipIf(skip)("nginx from deploy/nginx.conf in front of replicas (real nginx)", () => {
  const upstreams: Upstream[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  let nginx: Nginx;

  beforeAll(async () => {
    upstreams.push(await startUpstream("a"), await startUpstream("b"));
    cleanups.push(async () => {
      for (const u of upstreams)
        if (u.child.exitCode === null && u.child.signalCode === null) await kill9(u.child);
    });
    nginx = await startNginx({ upstreams: upstreams.map((u) => u.address) });
    cleanups.push(() => nginx.stop());
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it("spreads GETs and POSTs over both replicas and forwards the client's address", async () => {
    const by = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const answer = await send(`${nginx.url}/v1/predict`, i % 2 ? "GET" : "POST", { user_id: i });
      expect(answer.status).toBe(200);
      expect(answer.json?.forwardedFor).toBe("127.0.0.1");
      if (answer.json?.method === "POST") expect(answer.json.bodyBytes).toBeGreaterThan(0);
      const name = answer.json?.name ?? "?";
      by.set(name, (by.get(name) ?? 0) + 1);
    }
    expect([...by.keys()].sort()).toEqual(["a", "b"]);
    for (const count of by.values()) expect(count).toBeGreaterThanOrEqual(5);
  });

  it("answers /admin/* itself with 403 (a reload through nginx would reach one replica only)", async () => {
    const answer = await send(`${nginx.url}/admin/reload`, "POST", {});
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body).message).toMatch(/each replica/);
  });

  it("exposes stub_status on the internal status port only", async () => {
    const status = await send(`${nginx.statusUrl}/nginx_status`, "GET");
    expect(status.status).toBe(200);
    expect(status.body).toMatch(/^Active connections: \d+/);
  });

  it("after kill -9 of one replica every POST is answered by the other: refused connects are retried", async () => {
    const [a, b] = upstreams;
    await kill9(a.child);
    const names = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const answer = await send(`${nginx.url}/v1/feedback`, "POST", { decision_id: String(i) });
      expect(answer.status, answer.body).toBe(200);
      names.add(answer.json?.name ?? "?");
    }
    expect([...names]).toEqual(["b"]);
    // At least one POST went to the dead replica first (nginx only learns it is dead by trying it) and was
    // passed on after the refused connect: the log lists both replicas for that request.
    const retried = nginx
      .accessLog()
      .filter((l) => l.includes('"POST /v1/feedback') && l.includes(`upstream=${a.address}, ${b.address}`));
    expect(retried.length).toBeGreaterThanOrEqual(1);
    expect(retried[0]).toMatch(/" 200 .*upstream_status=502, 200/);
  });

  it("a POST that reached a replica which then failed is answered 502, not replayed; a GET is retried", async () => {
    const good = await countingUpstream("good");
    const dropper = await droppingUpstream();
    cleanups.push(
      () => closeServer(good.server),
      () => closeServer(dropper.server),
    );
    await nginx.reload([dropper.address, good.address]);

    // POSTs until one reaches the dropping replica (round robin: within two).
    let okPosts = 0;
    let dropped: Answer | undefined;
    for (let i = 0; i < 10 && dropped === undefined; i++) {
      const before = dropper.received();
      const answer = await send(`${nginx.url}/v1/predict`, "POST", { user_id: i });
      if (dropper.received() > before) dropped = answer;
      else {
        expect(answer.status).toBe(200);
        okPosts++;
      }
    }
    expect(dropped?.status).toBe(502);
    // The good replica saw only the POSTs that were answered 200: the dropped one was not sent on to it.
    expect(good.got.get("POST") ?? 0).toBe(okPosts);

    // The same failure on a GET is passed to the other replica. The dropper is now marked failed for
    // fail_timeout, so a fresh one (a new address, no failures counted) takes its place.
    const dropper2 = await droppingUpstream();
    cleanups.push(() => closeServer(dropper2.server));
    await nginx.reload([dropper2.address, good.address]);
    let retried: Answer | undefined;
    for (let i = 0; i < 10 && retried === undefined; i++) {
      const before = dropper2.received();
      const answer = await send(`${nginx.url}/ready`, "GET");
      expect(answer.status).toBe(200);
      if (dropper2.received() > before) retried = answer;
    }
    expect(retried?.json?.name).toBe("good");
  });

  it("reload() switches to the new upstreams once the new config is live", async () => {
    const c = await startUpstream("c");
    upstreams.push(c);
    await nginx.reload([c.address]);
    for (let i = 0; i < 6; i++) {
      const answer = await send(`${nginx.url}/v1/predict`, "POST", { user_id: i });
      expect(answer.status).toBe(200);
      expect(answer.json?.name).toBe("c");
    }
  });
});

describe.skipIf(skip)("nginx's per-client rate limit (the replicas run without theirs)", () => {
  let upstream: Upstream | undefined;
  let nginx: Nginx | undefined;

  beforeAll(async () => {
    upstream = await startUpstream("only");
    nginx = await startNginx({ upstreams: [upstream.address], ratePerSecond: 1 });
  });
  afterAll(async () => {
    await nginx?.stop();
    if (upstream) await kill9(upstream.child);
  });

  it("answers 429 past the rate and burst, but never on the probes", async () => {
    const url = (nginx as Nginx).url;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await send(`${url}/v1/predict`, "POST", { user_id: i })).status);
    // rate 1/s with a burst of 2: the first requests pass, the rest of a quick run are refused.
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(4);
    for (let i = 0; i < 8; i++) expect((await send(`${url}/ready`, "GET")).status).toBe(200);
  });
});
