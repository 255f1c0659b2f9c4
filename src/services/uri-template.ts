const EXPRESSION = /\{([+#./;?&]?)([^}]*)\}/g;
const MAX_TEMPLATE = 2048;
/** Longer URIs are never matched against a template (they are still read when a service listed them). */
export const MAX_MATCHED_URI = 4096;

/**
 * A matcher for an RFC 6570 URI template (what resources/templates/list returns), so that a URI a
 * child never listed (`demo://item/42`, from a resource_link) still finds the service that serves it.
 * Simple `{x}` stops at '/', '?', '#' and at the literal character that follows it; reserved `{+x}` /
 * `{#x}` match anything (one per template); `{?x,y}` / `{&x}` an optional query. The template comes
 * from a child: every pattern built here matches in linear time (no two ways to split a URI), and a
 * template that would need more (two reserved expressions, adjacent expressions) gets no matcher.
 */
export function templateMatcher(template: string): ((uri: string) => boolean) | undefined {
  if (template.length > MAX_TEMPLATE) return undefined;
  const parts: Array<{ literal: string } | { op: string }> = [];
  let last = 0;
  for (const m of template.matchAll(EXPRESSION)) {
    if (m.index > last) parts.push({ literal: template.slice(last, m.index) });
    else if (parts.length && !("literal" in parts[parts.length - 1]!)) return undefined;
    parts.push({ op: m[1]! });
    last = m.index + m[0].length;
  }
  const tail = template.slice(last);
  if (/[{}]/.test(tail)) return undefined;
  if (tail) parts.push({ literal: tail });
  if (parts.filter((p) => "op" in p && (p.op === "+" || p.op === "#")).length > 1) return undefined;
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if ("literal" in p) {
      out += escape(p.literal);
      continue;
    }
    const next = parts[i + 1];
    const stop = next && "literal" in next ? escapeClass(next.literal[0]!) : "";
    if (p.op === "+") out += ".*";
    else if (p.op === "#") out += "(?:#.*)?";
    else if (p.op === "?" || p.op === "&") out += "(?:[?&][^#]*)?";
    else if (p.op === "/") out += `(?:/[^?#${stop}]*)?`;
    else if (p.op === ".") out += `(?:\\.[^/?#${stop}]*)?`;
    else if (p.op === ";") out += `(?:;[^/?#${stop}]*)?`;
    else out += `[^/?#${stop}]+`;
  }
  const re = new RegExp(`^${out}$`);
  return (uri) => uri.length <= MAX_MATCHED_URI && re.test(uri);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function escapeClass(c: string): string {
  return c.replace(/[\]\\^-]/g, "\\$&");
}
