import type { ToolInfo } from "../backends/backend.js";

/** One tool of one service, as service_tools returns it. */
export interface ToolMatch {
  service: string;
  host: string;
  tool: ToolInfo;
  score: number;
}

interface Searchable {
  name: string;
  host: string;
  tools: readonly ToolInfo[];
}

/**
 * Finds tools whose name, title or description contain every word of the query (case-insensitive),
 * best first: words in the tool's name count more than words in its description.
 */
export function searchTools(services: readonly Searchable[], query: string | undefined): ToolMatch[] {
  const words = (query ?? "").toLowerCase().split(/[\s,]+/).filter(Boolean);
  const out: ToolMatch[] = [];
  for (const svc of services) {
    for (const tool of svc.tools) {
      const name = `${svc.name}__${tool.name}`.toLowerCase();
      const text = `${tool.title ?? ""} ${tool.description ?? ""}`.toLowerCase();
      let score = 0;
      let all = true;
      for (const w of words) {
        const inName = name.includes(w);
        const inText = text.includes(w);
        if (!inName && !inText) {
          all = false;
          break;
        }
        score += (inName ? 3 : 0) + (inText ? 1 : 0);
      }
      if (all) out.push({ service: svc.name, host: svc.host, tool, score });
    }
  }
  return out.sort((a, b) => b.score - a.score || a.service.localeCompare(b.service) || a.tool.name.localeCompare(b.tool.name));
}
