// `skipwise serve` as a child process for the load benches: a fresh decision log, any free port, the rate
// limit off (the benches measure the service, not the limiter), `extra` flags after those; resolves once it
// listens.
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import autocannon from "autocannon";
import { loadDelivery } from "../src/data/index.ts";

const BIN = resolve(import.meta.dirname, "../bin/skipwise.js");

export function startServer(
  bundle: string,
  data: string,
  db: string,
  extra: readonly string[] = [],
  /** Run the server on this CPU only (taskset), e.g. to give it one core of its own. */
  core?: number,
): Promise<{ child: ChildProcess; url: string }> {
  const pin = core === undefined ? [] : ["-c", String(core), process.execPath];
  const child = spawn(
    core === undefined ? process.execPath : "taskset",
    [
      ...pin,
      BIN,
      "serve",
      "--bundle",
      bundle,
      "--data",
      data,
      "--db",
      db,
      "--port",
      "0",
      "--log-level",
      "warn",
      "--rate-limit",
      "0",
      ...extra,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  return new Promise((done, fail) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) done({ child, url: match[1] });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => fail(new Error(`server exited (${code}) before listening:\n${output}`)));
  });
}

/** Request bodies over real users and tracks, cycled by every connection of a load bench. */
export async function requestBodies(data: string): Promise<string[]> {
  const { catalog } = await loadDelivery(data);
  const users = [...catalog.users.keys()];
  const tracks = catalog.tracks;
  const out: string[] = [];
  for (let i = 0; i < 256; i++) {
    const track = tracks[(i * 7919) % tracks.length].id;
    out.push(JSON.stringify({ user_id: users[i % users.length], track_id: track }));
  }
  return out;
}

/** autocannon for `seconds` on one route, POSTing the bodies in turn over `connections` connections. */
export function driveRoute(
  url: string,
  route: string,
  seconds: number,
  payloads: string[],
  connections: number,
): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections,
    duration: seconds,
    requests: payloads.map((body) => ({
      method: "POST" as const,
      path: route,
      headers: { "content-type": "application/json" },
      body,
    })),
  });
}

/** The middle value (the upper one of an even count), as the load benches report their runs. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const round = (x: number, d = 0): number => Number(x.toFixed(d));
/** autocannon reports whole milliseconds: 0 means under 1 ms. */
export const latencyMs = (x: number): string => (x === 0 ? "<1" : String(x));
