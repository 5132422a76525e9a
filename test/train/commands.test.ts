// `skipwise train` and `skipwise evaluate` as a user runs them: real delivery in, bundle / report out.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { loadDelivery } from "../../src/data/index.ts";
import { FEATURE_SCHEMA } from "../../src/features/index.ts";
import { loadBundle } from "../../src/models/bundle.ts";
import { runEvaluateCommand } from "../../src/report/evaluate-command.ts";
import { runTrainCommand } from "../../src/train/train-command.ts";
import { sharedDelivery } from "../helpers/shared-data.ts";

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, "../../bin/skipwise.js");

function capture(): NodeJS.WritableStream & { text: string } {
  const sink = {
    text: "",
    write(chunk: string) {
      sink.text += chunk;
      return true;
    },
  };
  return sink as unknown as NodeJS.WritableStream & { text: string };
}

describe("skipwise train", () => {
  it("writes a bundle that loads with the current feature schema and records its test period", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "skipwise-train-")), "bundle");
    const stdout = capture();
    await runTrainCommand({
      data: sharedDelivery("2023L-v2"),
      out,
      models: "naive,majority,logistic,gbdt",
      stdout,
    });
    const bundle = loadBundle(out, { expectedSchema: FEATURE_SCHEMA });
    expect(Object.keys(bundle.models).sort()).toEqual(["gbdt", "logistic", "majority", "naive"]);
    expect(["gbdt", "logistic"]).toContain(bundle.manifest.defaultModel);
    expect(bundle.manifest.thresholds.naive).toBe(0.5);
    expect(bundle.manifest.metrics.testStart).toBe("2023-03-11T02:59:25.073Z");
    expect(bundle.manifest.timeRange?.end).toBe("2023-03-11T02:59:25.073Z");
    // What it was trained on, by content: every file's size and sha256 (checked here independently), no path.
    const trainedOn = bundle.manifest.trainedOn;
    const data = sharedDelivery("2023L-v2");
    expect(trainedOn?.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(trainedOn?.files).toEqual(
      readdirSync(data)
        .sort()
        .map((name) => {
          const bytes = readFileSync(join(data, name));
          return { name, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
        }),
    );
    expect(trainedOn?.events).toBeGreaterThan(trainedOn?.listens ?? Number.POSITIVE_INFINITY);
    expect(Date.parse(trainedOn?.from ?? "")).toBeLessThan(Date.parse(trainedOn?.to ?? ""));
    expect(readFileSync(join(out, "manifest.json"), "utf8")).not.toContain(data);
    expect(stdout.text).toMatch(/gbdt\s+test ROC AUC 0\.7\d\d/);
    expect(stdout.text).toContain("(split by time)");
    // The policy chosen on the validation period is in the manifest, with its cost model and table.
    const policy = bundle.manifest.policy;
    expect(policy?.costModel).toEqual({ wastePerMb: 1, stall: 4, bitrateKbps: 160 });
    expect(policy?.validation.candidates[0].name).toBe("cache everything");
    expect(policy?.validation.interval).toBe("bootstrap over users");
    expect(stdout.text).toMatch(/^recommended policy: /m);
    if (policy?.kind === "model") {
      expect(bundle.manifest.defaultModel).toBe(policy.model);
      expect(bundle.manifest.threshold).toBe(policy.threshold);
    }
  });

  it("--protocol seed prints the reference's inflated accuracy and exports its CSV files", async () => {
    const csv = mkdtempSync(join(tmpdir(), "skipwise-seed-"));
    const stdout = capture();
    await runTrainCommand({
      data: sharedDelivery("2023L-v2"),
      out: "",
      protocol: "seed",
      exportCsv: csv,
      stdout,
    });
    expect(stdout.text).toMatch(/LinearSVC accuracy 0\.[89]\d\d on 1000 validation rows/);
    expect(stdout.text).toContain("inflated");
    expect(existsSync(join(csv, "merged_data.csv"))).toBe(true);
  });

  it("exits non-zero with one clear sentence on a bad invocation", async () => {
    const bad = await run("node", [CLI, "train", "--data", "/nonexistent/delivery"]).catch((e) => e);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^skipwise: .*\/nonexistent\/delivery/m);
    const protocol = await run("node", [CLI, "train", "--data", ".", "--protocol", "random"]).catch((e) => e);
    expect(protocol.code).toBe(1);
    expect(protocol.stderr).toContain('--protocol must be "time" or "seed", got "random"');
    const cost = await run("node", [CLI, "evaluate", "--data", ".", "--cost-stall", "-1"]).catch((e) => e);
    expect(cost.code).toBe(1);
    expect(cost.stderr).toContain('--cost-stall must be a number >= 0, got "-1"');
  });
});

describe("skipwise evaluate", () => {
  it("writes report.html + metrics.json with the verdict, every model, and the leaky reference beside them", async () => {
    const out = mkdtempSync(join(tmpdir(), "skipwise-evaluate-"));
    const stdout = capture();
    const metrics = await runEvaluateCommand({
      data: sharedDelivery("2023Z-v2"),
      out,
      models: "naive,majority,logistic,gbdt",
      stdout,
    });
    expect(metrics.verdict.usableSignal).toBe(false);
    expect(metrics.verdict.recommended).toBe("cache everything");
    expect(metrics.policy?.kind).toBe("cache-all");
    expect(stdout.text).toMatch(
      /^No usable signal: no model saves more than caching everything on the validation period/,
    );
    const html = readFileSync(join(out, "report.html"), "utf8");
    expect(html).toContain("No usable signal");
    expect(html).toMatch(/The reference project(&#39;|&#x27;|')s protocol \(leaky\)/);
    for (const chart of ["roc", "calibration", "correlation"])
      expect(html).toMatch(new RegExp(`data-chart="[^"]*${chart}`));
    const json = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8"));
    expect(json.models.map((m: { name: string }) => m.name)).toEqual([
      "naive",
      "majority",
      "logistic",
      "gbdt",
    ]);
  });

  it("--bundle-out records the delivery's whole event count (the report drops the events, the bundle may not)", async () => {
    const work = mkdtempSync(join(tmpdir(), "skipwise-evaluate-bundle-"));
    const data = sharedDelivery("2023L-v2");
    await runEvaluateCommand({
      data,
      out: join(work, "report"),
      bundleOut: join(work, "bundle"),
      models: "naive,majority,logistic",
      reference: false,
      stdout: capture(),
    });
    const { events } = await loadDelivery(data);
    const trainedOn = loadBundle(join(work, "bundle"), { expectedSchema: FEATURE_SCHEMA }).manifest.trainedOn;
    expect(events.length).toBeGreaterThan(0);
    expect(trainedOn?.events).toBe(events.length);
  });
});
