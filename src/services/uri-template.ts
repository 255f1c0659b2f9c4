const EXPRESSION = /\{([+#./;?&]?)([^}]*)\}/g;

/**
 * A matcher for an RFC 6570 URI template (what resources/templates/list returns), so that a URI a
 * child never listed (`demo://item/42`, from a resource_link) still finds the service that serves it.
 * Simple `{x}` stops at '/', '?' and '#'; reserved `{+x}` / `{#x}` match anything; `{?x,y}` / `{&x}` an optional query.
 */
export function templateMatcher(template: string): RegExp | undefined {
  if (template.length > 2048) return undefined;
  let out = "";
  let last = 0;
  for (const m of template.matchAll(EXPRESSION)) {
    out += escape(template.slice(last, m.index));
    last = m.index + m[0].length;
    const op = m[1];
    if (op === "+" || op === "#") out += op === "#" ? "(?:#.*)?" : ".*";
    else if (op === "?" || op === "&") out += "(?:[?&][^#]*)?";
    else if (op === "/") out += "(?:/[^?#]*)?";
    else if (op === ".") out += "(?:\\.[^/?#]*)?";
    else if (op === ";") out += "(?:;[^/?#]*)?";
    else out += "[^/?#]+";
  }
  out += escape(template.slice(last));
  if (/[{}]/.test(template.slice(last))) return undefined;
  return new RegExp(`^${out}$`);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
