// Small readers for the SVG that vega renders, so tests can count marks and find labels.

/** Inner markup of every `<g class="mark-<type> role-<role>...">` group, in document order. */
export function markGroups(svg: string, type: string, role = "mark"): string[] {
  const out: string[] = [];
  const opener = `<g class="mark-${type} role-${role}`;
  let from = 0;
  for (;;) {
    const start = svg.indexOf(opener, from);
    if (start < 0) return out;
    const bodyStart = svg.indexOf(">", start) + 1;
    // Leaf mark groups (rect, line, symbol, text, rule) hold no nested <g>.
    const end = svg.indexOf("</g>", bodyStart);
    out.push(svg.slice(bodyStart, end));
    from = end;
  }
}

/** Number of items (path / line / text elements) in a mark group. */
export function countItems(group: string): number {
  return (group.match(/<(path|line|text)\b/g) ?? []).length;
}

/** All text content of <text> elements, XML entities decoded. */
export function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text\b[^>]*>([\s\S]*?)<\/text>/g)].map((m) =>
    m[1]
      .replace(/<[^>]+>/g, "")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, "&"),
  );
}

const VOID = new Set([
  "meta",
  "br",
  "img",
  "hr",
  "input",
  "link",
  "area",
  "base",
  "col",
  "embed",
  "source",
  "track",
  "wbr",
]);

/** Throws when start and end tags do not nest properly (a light well-formedness check). */
export function checkBalancedTags(html: string): void {
  const stack: string[] = [];
  const withoutComments = html.replace(/<!--[\s\S]*?-->/g, "").replace(/<!DOCTYPE[^>]*>/i, "");
  for (const m of withoutComments.matchAll(/<(\/?)([a-zA-Z][\w:-]*)\b[^>]*?(\/?)>/g)) {
    const [, closing, rawName, selfClosing] = m;
    const name = rawName.toLowerCase();
    if (selfClosing || VOID.has(name)) continue;
    if (!closing) stack.push(name);
    else {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open ?? "nothing"}> at offset ${m.index}`);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed tags: ${stack.join(", ")}`);
}

/** URLs that would make a browser fetch something (src/href/url()/@import to another origin). */
export function externalReferences(html: string): string[] {
  const found: string[] = [];
  for (const m of html.matchAll(/\b(?:src|href|xlink:href|action|poster)\s*=\s*["']?([^"'\s>]+)/gi)) {
    if (!m[1].startsWith("#") && !m[1].startsWith("data:")) found.push(m[0]);
  }
  for (const m of html.matchAll(/url\(\s*["']?([^)"']+)/gi)) if (!m[1].startsWith("#")) found.push(m[0]);
  for (const m of html.matchAll(/@import|<script|<iframe|<object|<embed/gi)) found.push(m[0]);
  for (const m of html.matchAll(/<link\b[^>]*>/gi)) if (!/href="data:/.test(m[0])) found.push(m[0]);
  for (const m of html.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/gi)) found.push(m[0]);
  return found;
}
