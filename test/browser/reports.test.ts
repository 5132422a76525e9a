// The three HTML reports in a real headless Chromium: report.html from `skipwise evaluate` on a generated
// delivery, abtest.html from a real replay against `skipwise serve` and the A/B analysis of its decision
// log, cache.html from the cache simulator over the evaluated bundle's models. Each page must load without
// console or page errors and without any request leaving the file, and show every chart it is expected to
// (an SVG with data marks, laid out with a size). Full-page screenshots go to test-output/screenshots/.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheInputsFromDataset, simulateCache, writeCacheReport } from "../../src/cache/index.ts";
import { loadDelivery } from "../../src/data/index.ts";
import { analyzeExperiment, writeAbtestReport } from "../../src/experiment/index.ts";
import { buildListens } from "../../src/listens/index.ts";
import { loadBundle } from "../../src/models/bundle.ts";
import { readAnalysisRecords } from "../../src/serve/log-export.ts";
import { buildDataset } from "../../src/train/dataset.ts";
import { timeSplit } from "../../src/train/split.ts";
import { lastListens, REPO, replay, skipwise, spawnServe } from "../observability/service.ts";

const CHROMIUM = "/usr/bin/chromium";
const IN_CI = process.env.CI === "true";
const SCREENSHOTS = resolve(REPO, "test-output/screenshots");
const LAUNCH_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Charts each report must show, by the `data-chart` name of their figure (count = at least). */
const EXPECTED: Record<string, Record<string, number>> = {
  report: {
    "confusion-matrix": 3,
    roc: 1,
    pr: 1,
    calibration: 1,
    "cost-curve": 1,
    "permutation-importance": 1,
    correlation: 1,
  },
  abtest: { accuracy: 1, cuped: 1, timeline: 1 },
  cache: { frontier: 1 },
};

interface PageCheck {
  errors: string[];
  externalRequests: string[];
  charts: { name: string; marks: number; width: number; height: number; section: string }[];
  sections: string[];
  scrollWidth: number;
  viewportWidth: number;
}

describe("HTML reports in headless Chromium", () => {
  if (!existsSync(CHROMIUM)) {
    // Outside CI a machine without Chromium skips; in CI (.ci/run installs it) its absence is a failure.
    it.skipIf(!IN_CI)("needs /usr/bin/chromium (Debian package chromium)", () => {
      throw new Error("/usr/bin/chromium not installed: .ci/run must install the Debian package chromium");
    });
    return;
  }

  let work: string;
  let browser: Browser;
  const reports: Record<string, string> = {};

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "skipwise-browser-"));
    const delivery = join(work, "delivery");
    const bundle = join(work, "bundle");
    skipwise(["generate", "--out", delivery, "--size", "small", "--seed", "11"]);
    skipwise(["evaluate", "--data", delivery, "--out", join(work, "report"), "--bundle-out", bundle]);
    reports.report = join(work, "report/report.html");

    // A/B: a real replay of the delivery's last listens against the served bundle, analysed from the log.
    const db = join(work, "decisions.db");
    const service = await spawnServe({ bundle, data: delivery, db });
    try {
      const result = await replay(service.url, await lastListens(delivery, 300), 8);
      expect(result.failures).toEqual([]);
    } finally {
      await service.stop();
    }
    const analysis = analyzeExperiment(readAnalysisRecords(db));
    reports.abtest = (await writeAbtestReport(analysis, join(work, "abtest"))).htmlPath;

    // Cache: the test period of the delivery through every model of the bundle at its chosen threshold.
    const { catalog, events } = await loadDelivery(delivery);
    const dataset = buildDataset(buildListens(events, catalog), catalog);
    const split = timeSplit(dataset.startMs);
    const loaded = loadBundle(bundle);
    const models = Object.entries(loaded.models).map(([name, model]) => ({
      name,
      model,
      threshold: loaded.manifest.thresholds[name] ?? loaded.manifest.threshold,
    }));
    const inputs = cacheInputsFromDataset(dataset, catalog, split.test, models);
    const simulation = simulateCache(inputs.listens, {
      models: inputs.models,
      genreRuleSkip: inputs.genreRuleSkip,
      device: { capacitiesBytes: [20e6, 80e6] },
    });
    reports.cache = (await writeCacheReport(simulation, join(work, "cache"), { source: delivery })).htmlPath;

    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  }, 300_000); // a generous hook timeout: CI machines may be busy

  afterAll(async () => {
    await browser?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function open(name: string): Promise<PageCheck> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const externalRequests: string[] = [];
    const self = pathToFileURL(reports[name]).href;
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
    page.on("requestfailed", (request) => errors.push(`request failed: ${request.url()}`));
    page.on("request", (request) => {
      if (request.url() !== self && !request.url().startsWith("data:")) externalRequests.push(request.url());
    });
    try {
      await page.goto(self, { waitUntil: "load" });
      const check = await page.evaluate(() => {
        const charts = [...document.querySelectorAll("figure.chart")].map((figure) => {
          const svg = figure.querySelector("svg");
          const box = svg?.getBoundingClientRect();
          return {
            name: figure.getAttribute("data-chart") ?? "",
            marks: svg ? svg.querySelectorAll("g.role-mark > *").length : 0,
            width: box?.width ?? 0,
            height: box?.height ?? 0,
            section: figure.closest("section")?.id ?? "",
          };
        });
        return {
          charts,
          sections: [...document.querySelectorAll("section[id]")].map((s) => s.id),
          scrollWidth: document.documentElement.scrollWidth,
          viewportWidth: window.innerWidth,
        };
      });
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
      return { errors, externalRequests, ...check };
    } finally {
      await page.close();
    }
  }

  /** Chart sections of the HTML as written: every `<section>` that holds a chart figure. */
  function chartSectionsInHtml(name: string): string[] {
    const html = readFileSync(reports[name], "utf8");
    const sections: string[] = [];
    for (const match of html.matchAll(/<section id="([^"]+)"[\s\S]*?<\/section>/g)) {
      if (match[0].includes('<figure class="chart"')) sections.push(match[1]);
    }
    return sections;
  }

  for (const name of ["report", "abtest", "cache"]) {
    it(`${name}.html renders every chart with data marks, no errors, no external requests`, async () => {
      const check = await open(name);
      expect(check.errors).toEqual([]);
      expect(check.externalRequests).toEqual([]);
      expect(check.charts.length).toBeGreaterThan(0);
      for (const chart of check.charts) {
        expect(chart.marks, `${name}: chart ${chart.name} has no data marks`).toBeGreaterThan(0);
        expect(chart.width, `${name}: chart ${chart.name} has no width`).toBeGreaterThan(50);
        expect(chart.height, `${name}: chart ${chart.name} has no height`).toBeGreaterThan(50);
        expect(chart.width, `${name}: chart ${chart.name} overflows the page`).toBeLessThanOrEqual(
          check.viewportWidth,
        );
      }
      // Every section that holds a chart in the file shows at least one drawn chart in the browser.
      const drawn = new Set(check.charts.map((c) => c.section));
      for (const section of chartSectionsInHtml(name)) expect(drawn.has(section), section).toBe(true);
      for (const [chart, count] of Object.entries(EXPECTED[name])) {
        expect(
          check.charts.filter((c) => c.name === chart).length,
          `${name}: ${chart}`,
        ).toBeGreaterThanOrEqual(count);
      }
      expect(check.scrollWidth, `${name}: the page scrolls sideways`).toBeLessThanOrEqual(
        check.viewportWidth,
      );
      expect(existsSync(join(SCREENSHOTS, `${name}.png`))).toBe(true);
    });
  }
});
