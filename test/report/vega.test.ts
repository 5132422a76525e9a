import { describe, expect, it } from "vitest";
import { renderVegaLiteSvg } from "../../src/report/vega.ts";
import { markGroups, svgTexts } from "./svg-helpers.ts";

const bars = {
  data: {
    values: [
      { k: "a", v: 1 },
      { k: "b", v: 3 },
    ],
  },
  mark: "bar",
  encoding: { x: { field: "k", type: "nominal" }, y: { field: "v", type: "quantitative" } },
};

describe("renderVegaLiteSvg", () => {
  it("renders a Vega-Lite spec with inline data to an SVG string", async () => {
    const svg = await renderVegaLiteSvg(bars);
    expect(svg).toMatch(/^<svg[^>]*width="\d+"[^>]*height="\d+"/);
    expect(svg.endsWith("</svg>")).toBe(true);
    expect(markGroups(svg, "rect")[0].match(/<path/g)?.length).toBe(2);
    expect(svgTexts(svg)).toEqual(expect.arrayContaining(["a", "b", "k", "v"]));
  });

  it("is deterministic", async () => {
    expect(await renderVegaLiteSvg(bars)).toBe(await renderVegaLiteSvg(bars));
  });

  it("refuses to fetch data from a URL or a file", async () => {
    for (const url of ["http://example.com/data.json", "data/local.csv"]) {
      await expect(renderVegaLiteSvg({ ...bars, data: { url } })).rejects.toThrow(/offline: refused to load/);
    }
  });

  it("reports runtime errors as a rejected promise and warnings through onWarning", async () => {
    const badScheme = {
      ...bars,
      encoding: {
        ...bars.encoding,
        color: { field: "k", type: "nominal", scale: { scheme: "no-such-scheme" } },
      },
    };
    await expect(renderVegaLiteSvg(badScheme)).rejects.toThrow(/chart rendering failed: .*no-such-scheme/);
    const warnings: string[] = [];
    await renderVegaLiteSvg(
      { ...bars, encoding: { ...bars.encoding, y: { field: "missing", type: "quantitative" } } },
      { onWarning: (m) => warnings.push(m) },
    );
    expect(warnings.some((w) => w.includes("missing"))).toBe(true);
  });
});
