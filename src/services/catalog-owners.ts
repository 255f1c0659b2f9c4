import { templateMatcher } from "./uri-template.js";

type Json = Record<string, unknown>;

const OWN_SCHEME = "herd://";
const OURSELVES = "mcp-herd itself";

/** One running service's lists, in load order. */
export interface ServiceLists {
  service: string;
  resources: Json[];
  templates: Json[];
  prompts: Json[];
}

/** Who serves what: the merged lists, the routing tables, and every claim that lost. */
export interface Owners {
  uriOwner: Map<string, string>;
  templateOwners: Array<{ template: string; match?: (uri: string) => boolean; service: string }>;
  promptIndex: Map<string, { service: string; name: string }>;
  resources: Json[];
  templates: Json[];
  /** Prompts under their served name `<service>__<prompt>`. */
  prompts: Json[];
  /** Service -> what it listed that another (loaded earlier) or mcp-herd already serves, e.g. "resource x://a (served by 'b')". */
  clashes: Map<string, string[]>;
}

/** Decides ownership from scratch: the earlier loaded service wins every clash, and herd:// is always ours. */
export function decideOwners(inLoadOrder: readonly ServiceLists[]): Owners {
  const o: Owners = {
    uriOwner: new Map(),
    templateOwners: [],
    promptIndex: new Map(),
    resources: [],
    templates: [],
    prompts: [],
    clashes: new Map(),
  };
  const lose = (service: string, what: string, owner: string) => {
    if (owner === service) return;
    const list = o.clashes.get(service) ?? [];
    list.push(`${what} (served by ${owner === OURSELVES ? owner : `'${owner}'`})`);
    o.clashes.set(service, list);
  };
  for (const s of inLoadOrder) {
    for (const r of s.resources) {
      const uri = r.uri;
      if (typeof uri !== "string") continue;
      const owner = uri.startsWith(OWN_SCHEME) ? OURSELVES : o.uriOwner.get(uri);
      if (owner !== undefined) {
        lose(s.service, `resource ${uri}`, owner);
        continue;
      }
      o.uriOwner.set(uri, s.service);
      o.resources.push(r);
    }
    for (const t of s.templates) {
      const template = t.uriTemplate;
      if (typeof template !== "string") continue;
      const owner = template.startsWith(OWN_SCHEME) ? OURSELVES : o.templateOwners.find((x) => x.template === template)?.service;
      if (owner !== undefined) {
        lose(s.service, `resource template ${template}`, owner);
        continue;
      }
      o.templateOwners.push({ template, match: templateMatcher(template), service: s.service });
      o.templates.push(t);
    }
    for (const p of s.prompts) {
      if (typeof p.name !== "string") continue;
      const served = `${s.service}__${p.name}`;
      const owner = o.promptIndex.get(served);
      if (owner) {
        lose(s.service, `prompt ${served}`, owner.service);
        continue;
      }
      o.promptIndex.set(served, { service: s.service, name: p.name });
      o.prompts.push({ ...p, name: served });
    }
  }
  return o;
}
