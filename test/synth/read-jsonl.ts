import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

/** Lines of a .jsonl or .jsonl.gz file (without the trailing empty line). */
export function readLines(path: string): string[] {
  const raw = readFileSync(path);
  const text = (path.endsWith(".gz") ? gunzipSync(raw) : raw).toString("utf8");
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

export function readJsonl(path: string): Record<string, unknown>[] {
  return readLines(path).map((line) => JSON.parse(line));
}

/** Exact pairwise ROC AUC (ties count half), O(n log n) by ranks. */
export function exactAuc(p: number[], y: number[]): number {
  const order = p.map((_, i) => i).sort((a, b) => p[a] - p[b]);
  const ranks = new Array<number>(p.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && p[order[j + 1]] === p[order[i]]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i]) {
      positives++;
      rankSum += ranks[i];
    }
  }
  const negatives = y.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
