import { describe, expect, it } from "vitest";
import { escapeHtml, formatCell, inlineSvg, renderHtmlPage, renderTable } from "../../src/report/html.ts";
import { renderVegaLiteSvg } from "../../src/report/vega.ts";
import { checkBalancedTags, externalReferences } from "./svg-helpers.ts";

const svgSpec = {
  data: { values: [{ x: 1, y: 2 }] },
  mark: "point",
  encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
};

describe("escaping and cells", () => {
  it("escapes the five HTML-special characters", () => {
    expect(escapeHtml(`<a href="x">Tom & 'Jerry'</a>`)).toBe(
      "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;",
    );
  });

  it("formats numbers, integers, NaN, infinities and missing values", () => {
    expect(formatCell(0.123456)).toBe("0.123");
    expect(formatCell(0.123456, 2)).toBe("0.12");
    expect(formatCell(1234567)).toBe("1,234,567");
    expect(formatCell(Number.NaN)).toBe("n/a");
    expect(formatCell(Number.POSITIVE_INFINITY)).toBe("∞");
    expect(formatCell(null)).toBe("—");
    expect(formatCell("text")).toBe("text");
    expect(formatCell(0, 3, 3)).toBe("0.000");
    expect(formatCell(1, 3, 4)).toBe("1.0000");
    expect(formatCell(12345.6, 3, "int")).toBe("12,346");
  });
});

describe("renderTable", () => {
  it("escapes every cell, right-aligns numbers and marks highlighted and muted rows", () => {
    const html = renderTable({
      caption: "Models <all>",
      columns: ["Model", "AUC"],
      rows: [
        ["<b>gbdt</b>", 0.81234],
        ["leaky", 0.89],
      ],
      highlightRows: [0],
      mutedRows: [1],
      note: "a & b",
    });
    expect(html).toContain("<caption>Models &lt;all&gt;</caption>");
    expect(html).toContain("&lt;b&gt;gbdt&lt;/b&gt;");
    expect(html).not.toContain("<b>");
    expect(html).toContain('<td class="num">0.812</td>');
    expect(html).toContain('<tr class="highlight">');
    expect(html).toContain('<tr class="muted">');
    expect(html).toContain("a &amp; b");
    checkBalancedTags(html);
  });

  it("rejects a row with the wrong number of cells", () => {
    expect(() => renderTable({ caption: "t", columns: ["a", "b"], rows: [["x"]] })).toThrow(
      /row 0 has 1 cells for 2 columns/,
    );
  });
});

describe("inlineSvg", () => {
  it("drops namespaces and the XML prolog, adds an accessible label", async () => {
    const svg = await renderVegaLiteSvg(svgSpec);
    expect(svg).toContain("xmlns=");
    const inline = inlineSvg(`<?xml version="1.0"?>\n${svg}`, `ROC "curves"`);
    expect(inline.startsWith("<svg")).toBe(true);
    expect(inline).not.toContain("xmlns");
    expect(inline).toContain('aria-label="ROC &quot;curves&quot;"');
    expect(externalReferences(inline)).toEqual([]);
  });

  it("refuses non-SVG input and active content", () => {
    expect(() => inlineSvg("<div></div>", "x")).toThrow(/not an SVG document/);
    expect(() => inlineSvg("<svg><script>alert(1)</script></svg>", "x")).toThrow(/active content/);
    expect(() => inlineSvg('<svg><rect onload="x()"/></svg>', "x")).toThrow(/active content/);
  });
});

describe("renderHtmlPage", () => {
  it("assembles a self-contained page: sections, nav, verdict, charts, no scripts or external URLs", async () => {
    const svg = await renderVegaLiteSvg(svgSpec);
    const html = renderHtmlPage({
      title: "Report <1>",
      subtitle: "delivery & protocol",
      verdict: { status: "fail", headline: "No usable signal: <details>", details: ["CI includes 0.5"] },
      sections: [
        {
          id: "data",
          title: "Data",
          blocks: [
            {
              kind: "keyValues",
              rows: [
                ["Rows", 1000],
                ["Delivery", "2023Z"],
              ],
            },
          ],
        },
        {
          id: "charts",
          title: "Charts",
          intro: "Two charts",
          blocks: [
            { kind: "chart", name: "roc", svg, caption: "ROC" },
            {
              kind: "charts",
              charts: [
                { name: "pr", svg },
                { name: "calibration", svg },
              ],
            },
            { kind: "pre", text: "  precision <x>", caption: "report" },
            { kind: "list", items: ["one", "two & three"] },
            { kind: "text", text: "done" },
          ],
        },
      ],
      generatedAt: "2024-01-01T00:00:00Z",
    });
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).toContain("<title>Report &lt;1&gt;</title>");
    expect(html).toContain('<section class="verdict verdict-fail"');
    expect(html).toContain("No usable signal: &lt;details&gt;");
    expect(html).toContain('<a href="#data">Data</a>');
    expect(html).toContain('<section id="charts">');
    expect(html.match(/<figure class="chart" data-chart="/g)?.length).toBe(3);
    expect(html).toContain('data-chart="calibration"');
    expect(html).toContain("  precision &lt;x&gt;");
    expect(html).toContain("Generated 2024-01-01T00:00:00Z");
    expect(html).toContain("<style>");
    expect(html).toContain('<link rel="icon" href="data:,">'); // no favicon request when served over HTTP
    checkBalancedTags(html);
    expect(externalReferences(html)).toEqual([]);
  });

  it("gives every chart's SVG ids a page-unique, reproducible prefix and keeps references intact", async () => {
    // Legends with gradients carry ids (gradient_N) from a process-wide counter in vega.
    const gradientSpec = {
      data: {
        values: [
          { x: "a", y: "b", v: 0.2 },
          { x: "b", y: "a", v: 0.9 },
        ],
      },
      mark: "rect",
      encoding: {
        x: { field: "x", type: "nominal" },
        y: { field: "y", type: "nominal" },
        color: { field: "v", type: "quantitative" },
      },
    };
    const page = async () =>
      renderHtmlPage({
        title: "ids",
        sections: [
          {
            id: "s",
            title: "S",
            blocks: [
              { kind: "chart", name: "one", svg: await renderVegaLiteSvg(gradientSpec) },
              { kind: "chart", name: "two", svg: await renderVegaLiteSvg(gradientSpec) },
            ],
          },
        ],
      });
    const html = await page();
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]).filter((id) => id.startsWith("chart"));
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect(new Set(ids).size).toBe(ids.length);
    const refs = [...html.matchAll(/url\(#([^)]+)\)/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThanOrEqual(2);
    for (const ref of refs) expect(ids).toContain(ref);
    expect(refs.some((r) => r.startsWith("chart0-"))).toBe(true);
    expect(refs.some((r) => r.startsWith("chart1-"))).toBe(true);
    expect(await page()).toBe(html);
  });

  it("rejects bad or duplicate section ids", () => {
    expect(() => renderHtmlPage({ title: "t", sections: [{ id: "a b", title: "x", blocks: [] }] })).toThrow(
      /section id/,
    );
    expect(() =>
      renderHtmlPage({
        title: "t",
        sections: [
          { id: "a", title: "x", blocks: [] },
          { id: "a", title: "y", blocks: [] },
        ],
      }),
    ).toThrow(/duplicate section id "a"/);
  });

  it("the balanced-tag checker itself catches mismatches", () => {
    expect(() => checkBalancedTags("<div><p></div></p>")).toThrow(/closes/);
    expect(() => checkBalancedTags("<main><section>")).toThrow(/unclosed/);
    expect(externalReferences('<img src="https://x.org/a.png">').length).toBeGreaterThan(0);
    expect(externalReferences('<link rel="stylesheet" href="/style.css">').length).toBeGreaterThan(0);
    expect(externalReferences('<link rel="icon" href="data:,">')).toEqual([]);
  });
});
