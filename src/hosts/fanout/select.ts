import { HOST_NAME } from "../../config.js";

/** What a `host` argument names: one host as before, or a set of hosts for a fan-out call. */
export type HostSelection = { kind: "single"; name: string } | { kind: "many"; names: string[] } | { kind: "error"; message: string };

const GLOB_CHARS = /[*?[]/;

/** True when a `host` argument is a list, a glob or a group rather than one host name. */
export function isMultiSelector(selector: string, groups: Record<string, string[]>): boolean {
  const terms = splitTerms(selector);
  return terms.length !== 1 || GLOB_CHARS.test(terms[0]!) || Object.hasOwn(groups, terms[0]!);
}

// Why: `host` takes one name, a comma list, globs (`web-*`, `*`) and group names, resolved against the registry.
export function selectHosts(selector: string, known: string[], groups: Record<string, string[]>): HostSelection {
  const terms = splitTerms(selector);
  if (terms.length === 0) return { kind: "error", message: `host '${selector}' names no host: give a name, a comma list, a glob such as 'web-*', or a group` };
  if (!isMultiSelector(selector, groups)) return { kind: "single", name: terms[0]! };
  const out = new Set<string>();
  const knownSet = new Set(known);
  const unknown = (what: string) =>
    `${what}: known hosts are ${known.length ? known.join(", ") : "(none)"}` +
    `${Object.keys(groups).length ? `; groups are ${Object.keys(groups).sort().join(", ")}` : ""}. See remote_list_hosts.`;
  for (const term of terms) {
    if (Object.hasOwn(groups, term)) {
      for (const member of groups[term]!) {
        const hits = matchTerm(member, known, knownSet);
        if (!hits.length) return { kind: "error", message: unknown(`group '${term}' names '${member}', which is no host`) };
        hits.forEach((h) => out.add(h));
      }
      continue;
    }
    const hits = matchTerm(term, known, knownSet);
    if (!hits.length) return { kind: "error", message: unknown(GLOB_CHARS.test(term) ? `no host matches '${term}'` : `unknown host '${term}'`) };
    hits.forEach((h) => out.add(h));
  }
  return { kind: "many", names: [...out] };
}

// Why: a group that names an unknown host, or shadows a host, is reported at start with the group's name.
export function checkGroups(groups: Record<string, string[]>, known: string[]): string[] {
  const problems: string[] = [];
  const knownSet = new Set(known);
  for (const [name, members] of Object.entries(groups)) {
    if (!HOST_NAME.test(name)) problems.push(`group '${name}': bad name (use letters, digits, '.', '_' and '-')`);
    if (knownSet.has(name)) problems.push(`group '${name}' has the name of a host; rename the group`);
    if (!members.length) problems.push(`group '${name}' has no members`);
    for (const m of members) {
      if (!matchTerm(m, known, knownSet).length) problems.push(`group '${name}': '${m}' is no host (known: ${known.join(", ") || "none"})`);
    }
  }
  return problems;
}

/** Shell-style glob (`*`, `?`, `[a-z]`, `[!x]`) over a whole host name. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) {
        re += "\\[";
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      re += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

function matchTerm(term: string, known: string[], knownSet: Set<string>): string[] {
  if (!GLOB_CHARS.test(term)) return knownSet.has(term) ? [term] : [];
  const re = globToRegExp(term);
  return known.filter((n) => re.test(n)).sort();
}

function splitTerms(selector: string): string[] {
  return selector
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
}
