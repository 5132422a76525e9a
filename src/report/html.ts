// Self-contained HTML reports: one file with inline CSS and inline SVG charts, no scripts, no
// external resources (it opens offline, from an e-mail attachment or a CI artifact). Every piece of
// text passes through escapeHtml; only SVG produced by renderVegaLiteSvg is embedded as markup.

export type Cell = string | number | null;

export interface Table {
  caption?: string;
  columns: readonly string[];
  rows: ReadonlyArray<readonly Cell[]>;
  /** Digits for numeric cells (default 3). */
  digits?: number;
  /**
   * Per-column number format: "int" (thousands separators) or a digit count. Without it, integral
   * numbers print as integers and others with `digits` — give metric columns a digit count so a
   * metric that happens to be 0 or 1 still reads 0.000 / 1.000.
   */
  columnFormats?: ReadonlyArray<"int" | number | undefined>;
  /** Row indices drawn emphasised (e.g. the best model). */
  highlightRows?: readonly number[];
  /** Row indices drawn muted with a label, e.g. a leaky reference result shown for comparison. */
  mutedRows?: readonly number[];
  note?: string;
}

export type Block =
  | { kind: "text"; text: string }
  | { kind: "list"; items: readonly string[] }
  | { kind: "pre"; text: string; caption?: string }
  | { kind: "table"; table: Table }
  | { kind: "keyValues"; rows: ReadonlyArray<readonly [string, Cell]>; caption?: string }
  | { kind: "chart"; name: string; svg: string; caption?: string }
  | { kind: "charts"; charts: ReadonlyArray<{ name: string; svg: string; caption?: string }> };

export interface Section {
  /** Anchor id: letters, digits, '-' and '_' only. */
  id: string;
  title: string;
  intro?: string;
  blocks: readonly Block[];
}

export type VerdictStatus = "pass" | "warn" | "fail";

export interface Verdict {
  status: VerdictStatus;
  headline: string;
  details?: readonly string[];
}

export interface Page {
  title: string;
  subtitle?: string;
  verdict?: Verdict;
  sections: readonly Section[];
  /** Shown in the footer; pass it in for reproducible output. */
  generatedAt?: string;
  footer?: string;
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]);
}

export function formatCell(cell: Cell, digits = 3, format?: "int" | number): string {
  if (cell === null) return "—";
  if (typeof cell === "number") {
    if (Number.isNaN(cell)) return "n/a";
    if (!Number.isFinite(cell)) return cell > 0 ? "∞" : "−∞";
    if (format === "int") return Math.round(cell).toLocaleString("en-US");
    if (typeof format === "number") return cell.toFixed(format);
    return Number.isInteger(cell) ? cell.toLocaleString("en-US") : cell.toFixed(digits);
  }
  return cell;
}

/**
 * Prepares renderVegaLiteSvg output for inline use: drops an XML prolog and the namespace
 * declarations (HTML parsers put <svg> in the SVG namespace themselves), makes it scale down on
 * narrow screens and labels it for screen readers. Vega numbers gradient and clip-path ids with a
 * process-wide counter; `idPrefix` renames them so several charts on one page cannot collide and the
 * page is byte-identical for the same input.
 */
export function inlineSvg(svg: string, label: string, idPrefix?: string): string {
  const start = svg.indexOf("<svg");
  if (start < 0 || !svg.trimEnd().endsWith("</svg>"))
    throw new Error(`chart "${label}" is not an SVG document`);
  if (/<script|<foreignObject|<[^>]*\son[a-z]+\s*=/i.test(svg))
    throw new Error(`chart "${label}" contains active content`);
  let body = svg.slice(start).replace(/^<svg([^>]*)>/, (_, attrs: string) => {
    const cleaned = attrs.replace(/\s+xmlns(:\w+)?="[^"]*"/g, "");
    return `<svg${cleaned} role="img" aria-label="${escapeHtml(label)}">`;
  });
  if (idPrefix !== undefined) body = renameIds(body, idPrefix);
  return body;
}

function renameIds(svg: string, prefix: string): string {
  const renamed = new Map<string, string>();
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) {
    if (!renamed.has(m[1])) renamed.set(m[1], `${prefix}${renamed.size}`);
  }
  if (renamed.size === 0) return svg;
  const rename = (id: string) => renamed.get(id) ?? id;
  return svg.replace(
    /(\sid=")([^"]+)(")|url\(#([^)]+)\)|((?:xlink:)?href="#)([^"]+)(")/g,
    (whole, idOpen, id, idClose, urlId, hrefOpen, hrefId, hrefClose) => {
      if (id !== undefined) return `${idOpen}${rename(id)}${idClose}`;
      if (urlId !== undefined) return `url(#${rename(urlId)})`;
      if (hrefId !== undefined) return `${hrefOpen}${rename(hrefId)}${hrefClose}`;
      return whole;
    },
  );
}

function checkId(id: string): string {
  if (!/^[A-Za-z][\w-]*$/.test(id))
    throw new Error(`section id "${id}" must start with a letter and use [A-Za-z0-9_-]`);
  return id;
}

export function renderTable(table: Table): string {
  const digits = table.digits ?? 3;
  const highlight = new Set(table.highlightRows ?? []);
  const muted = new Set(table.mutedRows ?? []);
  const head = table.columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join("");
  const body = table.rows
    .map((row, r) => {
      if (row.length !== table.columns.length) {
        throw new Error(
          `table "${table.caption ?? ""}": row ${r} has ${row.length} cells for ${table.columns.length} columns`,
        );
      }
      const cls = highlight.has(r) ? ' class="highlight"' : muted.has(r) ? ' class="muted"' : "";
      const cells = row
        .map((cell, c) => {
          const text = escapeHtml(formatCell(cell, digits, table.columnFormats?.[c]));
          const numeric = typeof cell === "number" ? ' class="num"' : "";
          return c === 0 ? `<th scope="row"${numeric}>${text}</th>` : `<td${numeric}>${text}</td>`;
        })
        .join("");
      return `<tr${cls}>${cells}</tr>`;
    })
    .join("\n");
  const caption = table.caption ? `<caption>${escapeHtml(table.caption)}</caption>` : "";
  const note = table.note ? `\n<p class="note">${escapeHtml(table.note)}</p>` : "";
  return `<div class="table-wrap"><table>${caption}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table></div>${note}`;
}

function renderFigure(chart: { name: string; svg: string; caption?: string }, index: number): string {
  const name = escapeHtml(chart.name);
  const caption = chart.caption ? `<figcaption>${escapeHtml(chart.caption)}</figcaption>` : "";
  const svg = inlineSvg(chart.svg, chart.caption ?? chart.name, `chart${index}-`);
  return `<figure class="chart" data-chart="${name}">${svg}${caption}</figure>`;
}

/** Numbers the charts of one page in document order (for unique, reproducible SVG ids). */
export interface ChartCounter {
  next: number;
}

export function renderBlock(block: Block, charts: ChartCounter = { next: 0 }): string {
  switch (block.kind) {
    case "text":
      return `<p>${escapeHtml(block.text)}</p>`;
    case "list":
      return `<ul>${block.items.map((item) => `<li>${escapeHtml(item)}</li>`).join("")}</ul>`;
    case "pre": {
      const caption = block.caption ? `<p class="pre-caption">${escapeHtml(block.caption)}</p>` : "";
      return `${caption}<pre>${escapeHtml(block.text)}</pre>`;
    }
    case "table":
      return renderTable(block.table);
    case "keyValues": {
      const rows = block.rows
        .map(
          ([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(formatCell(v))}</td></tr>`,
        )
        .join("");
      const caption = block.caption ? `<caption>${escapeHtml(block.caption)}</caption>` : "";
      return `<div class="table-wrap"><table class="kv">${caption}<tbody>${rows}</tbody></table></div>`;
    }
    case "chart":
      return renderFigure(block, charts.next++);
    case "charts":
      return `<div class="chart-row">${block.charts.map((c) => renderFigure(c, charts.next++)).join("\n")}</div>`;
  }
}

function renderVerdict(verdict: Verdict): string {
  const details = verdict.details?.length
    ? `<ul>${verdict.details.map((d) => `<li>${escapeHtml(d)}</li>`).join("")}</ul>`
    : "";
  return `<section class="verdict verdict-${verdict.status}" id="verdict" aria-label="Verdict"><p class="headline">${escapeHtml(verdict.headline)}</p>${details}</section>`;
}

const CSS = `
:root { --fg: #1d1d1f; --muted: #6b6b70; --line: #dcdce0; --pass: #1e7b34; --warn: #9a6700; --fail: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 Helvetica, Arial, sans-serif; color: var(--fg); background: #fafafa; }
header, main, footer { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-top: 8px; border-top: 1px solid var(--line); }
.subtitle { color: var(--muted); margin: 0 0 16px; }
nav ul { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 14px; }
nav a { color: #0b5cad; text-decoration: none; }
.verdict { border-left: 6px solid var(--muted); background: #fff; padding: 12px 18px; margin: 16px 0; border-radius: 4px; }
.verdict .headline { font-size: 18px; font-weight: bold; margin: 0; }
.verdict ul { margin: 8px 0 0; padding-left: 20px; }
.verdict-pass { border-color: var(--pass); } .verdict-pass .headline { color: var(--pass); }
.verdict-warn { border-color: var(--warn); } .verdict-warn .headline { color: var(--warn); }
.verdict-fail { border-color: var(--fail); } .verdict-fail .headline { color: var(--fail); }
.table-wrap { overflow-x: auto; margin: 10px 0; }
table { border-collapse: collapse; background: #fff; font-size: 13.5px; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
th, td { border: 1px solid var(--line); padding: 4px 9px; text-align: left; }
thead th { background: #f0f0f3; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.highlight th, tr.highlight td { background: #eaf5ec; font-weight: bold; }
tr.muted th, tr.muted td { color: var(--muted); font-style: italic; }
table.kv th { background: #f6f6f8; font-weight: normal; }
.note { color: var(--muted); font-size: 13px; margin: 4px 0 12px; }
pre { background: #fff; border: 1px solid var(--line); padding: 10px; overflow-x: auto; font-size: 13px; }
.pre-caption { font-weight: bold; margin: 10px 0 0; }
.chart-row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
figure.chart { margin: 10px 0; background: #fff; border: 1px solid var(--line); padding: 8px; max-width: 100%; overflow-x: auto; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; max-width: 560px; }
footer { color: var(--muted); font-size: 12px; padding: 24px; }
`;

/** A complete, self-contained HTML document. */
export function renderHtmlPage(page: Page): string {
  const ids = new Set<string>();
  for (const section of page.sections) {
    if (ids.has(checkId(section.id))) throw new Error(`duplicate section id "${section.id}"`);
    ids.add(section.id);
  }
  const charts: ChartCounter = { next: 0 };
  const nav = page.sections.map((s) => `<li><a href="#${s.id}">${escapeHtml(s.title)}</a></li>`).join("");
  const sections = page.sections
    .map((s) => {
      const intro = s.intro ? `<p class="intro">${escapeHtml(s.intro)}</p>` : "";
      return `<section id="${s.id}">\n<h2>${escapeHtml(s.title)}</h2>\n${intro}\n${s.blocks.map((b) => renderBlock(b, charts)).join("\n")}\n</section>`;
    })
    .join("\n");
  const footerBits = [page.footer, page.generatedAt ? `Generated ${page.generatedAt}` : undefined].filter(
    (x): x is string => x !== undefined,
  );
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(page.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(page.title)}</h1>
${page.subtitle ? `<p class="subtitle">${escapeHtml(page.subtitle)}</p>` : ""}
${page.verdict ? renderVerdict(page.verdict) : ""}
<nav aria-label="Sections"><ul>${nav}</ul></nav>
</header>
<main>
${sections}
</main>
<footer>${escapeHtml(footerBits.join(" · "))}</footer>
</body>
</html>
`;
}
