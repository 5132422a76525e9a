// Parity of skipwise's learners with scikit-learn and XGBoost on the same feature matrices.
// Run: node --import tsx bench/parity.ts [--delivery <dir>] [--rows 200000] [--cols 60] [--keep]
// Without --delivery: synthetic rows with a known signal (bench/gbdt.ts). With --delivery: the real
// feature matrix from buildDataset, split by time (test = last 20 % of listens, validation the 10 % before).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GBDT_DEFAULTS, GradientBoostedTrees } from "../src/models/gbdt.ts";
import { LogisticRegression } from "../src/models/logistic.ts";
import { LinearSVM } from "../src/models/svm.ts";
import type { Matrix } from "../src/models/types.ts";
import { syntheticData } from "./gbdt.ts";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");

interface Part {
  X: Matrix;
  y: Uint8Array;
}

interface Parts {
  train: Part;
  valid: Part;
  test: Part;
  source: string;
  featureNames: readonly string[];
}

interface Row {
  name: string;
  auc: number;
  fitSeconds: number;
  trees?: number;
  note?: string;
  /** Shown, but not part of the parity check (hyper-parameters not matched). */
  informational?: boolean;
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** ROC AUC by ranks (ties share their mean rank). */
export function rocAucByRanks(score: Float64Array, y: Uint8Array): number {
  const n = y.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => score[a] - score[b]);
  let rankSum = 0;
  let pos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && score[order[j + 1]] === score[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (y[order[k]] === 1) {
        rankSum += rank;
        pos++;
      }
    }
    i = j + 1;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * (n - pos));
}

/**
 * scikit-learn and XGBoost come from Debian (python3-sklearn, python3-xgboost): installed with apt-get
 * when missing (as root, or through passwordless sudo), unless --no-install. Returns whether sklearn imports.
 */
function ensurePythonPackages(python: string): boolean {
  const has = (module: string) =>
    spawnSync(python, ["-c", `import ${module}`], { stdio: "ignore" }).status === 0;
  if (has("sklearn") && has("xgboost")) return true;
  if (!process.argv.includes("--no-install")) {
    console.log("installing python3-sklearn python3-xgboost with apt-get for the comparison …");
    const root = process.getuid?.() === 0;
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const apt = (args: string[]) =>
      spawnSync(root ? "apt-get" : "sudo", root ? args : ["-n", "apt-get", ...args], {
        stdio: "inherit",
        env,
      });
    if (apt(["update"]).status === 0) {
      apt(["install", "-y", "--no-install-recommends", "python3-sklearn", "python3-xgboost"]);
    }
  }
  return has("sklearn");
}

function syntheticParts(rows: number, cols: number): Parts {
  const train = syntheticData(rows, cols, 11);
  const valid = syntheticData(Math.round(rows / 4), cols, 12);
  const test = syntheticData(Math.round(rows / 2), cols, 13);
  const names = Array.from({ length: cols }, (_, j) => `x${j}`);
  const oracle = rocAucByRanks(test.p, test.y);
  return {
    train,
    valid,
    test,
    source: `synthetic ${rows} train rows × ${cols} columns (AUC of the true probabilities on test: ${oracle.toFixed(4)})`,
    featureNames: names,
  };
}

async function deliveryParts(dir: string): Promise<Parts> {
  const { loadDelivery } = await import("../src/data/index.ts");
  const { buildListens } = await import("../src/listens/index.ts");
  const { buildDataset } = await import("../src/train/dataset.ts");
  const { timeSplit, selectRows } = await import("../src/train/split.ts");
  const t0 = performance.now();
  const delivery = await loadDelivery(dir);
  const listens = buildListens(delivery.events, delivery.catalog);
  const ds = buildDataset(listens, delivery.catalog);
  const split = timeSplit(ds.startMs, { train: 0.7, validation: 0.1, test: 0.2 });
  const pick = (rows: Int32Array): Part => {
    const y = new Uint8Array(rows.length);
    for (let k = 0; k < rows.length; k++) y[k] = ds.y[rows[k]];
    return { X: selectRows(ds.X, rows), y };
  };
  console.log(`feature matrix built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return {
    train: pick(split.train),
    valid: pick(split.validation),
    test: pick(split.test),
    source: `${dir}: ${ds.X.rows} listens × ${ds.X.cols} features, time split 70/10/20`,
    featureNames: ds.featureNames,
  };
}

function writePart(dir: string, name: string, p: Part): void {
  writeFileSync(
    join(dir, `X_${name}.f32`),
    Buffer.from(p.X.data.buffer, p.X.data.byteOffset, p.X.data.byteLength),
  );
  writeFileSync(join(dir, `y_${name}.u8`), Buffer.from(p.y.buffer, p.y.byteOffset, p.y.byteLength));
}

/** Result and CPU seconds (the machine is shared: wall time would mostly measure the neighbours). */
function timed<T>(fn: () => T): [T, number] {
  const t = process.cpuUsage();
  const r = fn();
  const used = process.cpuUsage(t);
  return [r, (used.user + used.system) / 1e6];
}

async function main(): Promise<void> {
  const delivery = argValue("delivery");
  const rows = Number(argValue("rows") ?? 200_000);
  const cols = Number(argValue("cols") ?? 60);
  const parts = delivery ? await deliveryParts(resolve(delivery)) : syntheticParts(rows, cols);
  const { train, valid, test } = parts;
  console.log(`data: ${parts.source}`);
  console.log(
    `rows: train ${train.X.rows}, validation ${valid.X.rows}, test ${test.X.rows}; skip rate train ${(
      train.y.reduce((a, b) => a + b, 0) / train.y.length
    ).toFixed(3)}, test ${(test.y.reduce((a, b) => a + b, 0) / test.y.length).toFixed(3)}`,
  );

  const gbdtParams = { ...GBDT_DEFAULTS };
  const ours: Row[] = [];
  const [gbdt, gbdtSeconds] = timed(() =>
    new GradientBoostedTrees(gbdtParams).fit(train.X, train.y, { validation: valid }),
  );
  ours.push({
    name: "skipwise GBDT",
    auc: rocAucByRanks(gbdt.decisionFunction(test.X), test.y),
    fitSeconds: gbdtSeconds,
    trees: gbdt.treeCount,
  });
  const [lr, lrSeconds] = timed(() => new LogisticRegression({ C: 1 }).fit(train.X, train.y));
  ours.push({
    name: "skipwise LogisticRegression",
    auc: rocAucByRanks(lr.decisionFunction(test.X), test.y),
    fitSeconds: lrSeconds,
  });
  for (const solver of ["primal", "dual"] as const) {
    const [svm, svmSeconds] = timed(() =>
      new LinearSVM({ C: 1, classWeight: "balanced", solver }).fit(train.X, train.y),
    );
    ours.push({
      name: `skipwise LinearSVM (balanced, ${solver})`,
      auc: rocAucByRanks(svm.decisionFunction(test.X), test.y),
      fitSeconds: svmSeconds,
      note: `objective ${svm.objective(train.X, train.y).toPrecision(6)}, ${svm.iterations} ${solver === "primal" ? "Newton iterations" : "passes"}`,
    });
  }

  const theirs: Row[] = [];
  const python = "/usr/bin/python3";
  const hasSklearn = ensurePythonPackages(python);
  if (!hasSklearn) {
    console.log(
      "python3-sklearn not installed (apt-get install -y python3-sklearn python3-xgboost): ours only",
    );
  } else {
    const dir = mkdtempSync(join(tmpdir(), "skipwise-parity-"));
    try {
      writePart(dir, "train", train);
      writePart(dir, "valid", valid);
      writePart(dir, "test", test);
      writeFileSync(
        join(dir, "meta.json"),
        JSON.stringify({
          cols: train.X.cols,
          rows: { train: train.X.rows, valid: valid.X.rows, test: test.X.rows },
          featureNames: parts.featureNames,
          gbdt: gbdtParams,
        }),
      );
      const run = spawnSync(python, [join(repo, "bench/parity.py"), dir], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 1 << 24,
      });
      if (run.status !== 0) throw new Error(`bench/parity.py failed with status ${run.status}`);
      for (const line of run.stdout.split("\n")) {
        if (line.trim() === "") continue;
        const r = JSON.parse(line) as {
          name: string;
          auc: number;
          fit_seconds: number;
          trees?: number;
          note?: string;
          informational?: boolean;
        };
        theirs.push({
          name: r.name,
          auc: r.auc,
          fitSeconds: r.fit_seconds,
          trees: r.trees,
          note: r.note,
          informational: r.informational,
        });
      }
    } finally {
      if (process.argv.includes("--keep")) console.log(`matrices kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    }
  }

  console.log("");
  console.log(
    `${"model".padEnd(34)} ${"ROC AUC".padStart(8)} ${"CPU s".padStart(8)} ${"trees".padStart(6)}  note`,
  );
  for (const r of [...ours, ...theirs]) {
    console.log(
      `${r.name.padEnd(34)} ${r.auc.toFixed(4).padStart(8)} ${r.fitSeconds.toFixed(2).padStart(8)} ${String(r.trees ?? "").padStart(6)}  ${r.note ?? ""}`,
    );
  }
  // Machine-readable summary for bench/run-all.ts (one run per invocation).
  const run: Record<string, number> = { peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
  for (const r of [...ours, ...theirs]) {
    run[`${r.name}: ROC AUC`] = r.auc;
    run[`${r.name}: fit s`] = r.fitSeconds;
  }
  console.log(
    `BENCH_JSON ${JSON.stringify({ bench: "parity", params: { source: parts.source, python: theirs.length > 0 }, runs: [run] })}`,
  );
  const pythonTrees = theirs.filter((r) => r.trees !== undefined && !r.informational);
  if (pythonTrees.length > 0) {
    const best = pythonTrees.reduce((a, b) => (b.auc > a.auc ? b : a));
    const gap = best.auc - ours[0].auc;
    console.log(
      `\nGBDT parity: skipwise ${ours[0].auc.toFixed(4)} vs best Python (${best.name}) ${best.auc.toFixed(4)}: ` +
        `gap ${gap.toFixed(4)} → ${gap <= 0.005 ? "PASS (within 0.005)" : "FAIL (more than 0.005 below)"}`,
    );
  }
  const ourSvm = ours.find((r) => r.name.includes("LinearSVM (balanced, primal)"));
  const sklearnSvm = theirs.find((r) => r.name.includes("LinearSVC (balanced, primal)"));
  if (ourSvm && sklearnSvm) {
    const gap = Math.abs(ourSvm.auc - sklearnSvm.auc);
    console.log(
      `SVM parity (primal Newton): skipwise ${ourSvm.auc.toFixed(4)} vs scikit-learn LinearSVC ${sklearnSvm.auc.toFixed(4)}: ` +
        `|gap| ${gap.toFixed(4)} → ${gap <= 0.002 ? "PASS (within 0.002)" : "FAIL (more than 0.002 apart)"}; ` +
        `CPU ${ourSvm.fitSeconds.toFixed(2)} s vs ${sklearnSvm.fitSeconds.toFixed(2)} s`,
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
