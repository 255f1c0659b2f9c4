import { readFileSync } from "node:fs";
import type { Backend, BackendKind } from "../backends/backend.js";
import { HOST_NAME, type Config, type HostSpec, type ProtocolChoice } from "../config.js";
import type { Logger } from "../log.js";

/** The host that is this machine. */
const LOCAL_HOST = "local";

/** An SSH path as written: an OpenSSH `ssh_host` (registry file) or the JSON config's object. */
export type SshPath = string | NonNullable<HostSpec["ssh"]>;
export interface PeerPath {
  url: string;
  token?: string;
  /** The era to speak to it (default legacy). */
  protocol?: ProtocolChoice;
}

/** One host as declared, before any connection. */
export interface HostDecl {
  name: string;
  /** Where it was declared: `file:line`, `config hosts[i]`, or `built-in`. */
  origin: string;
  peer?: PeerPath;
  ssh?: SshPath;
  local?: boolean;
}

/** A line or entry that could not be used; the other hosts load regardless. */
export interface RegistryProblem {
  where: string;
  message: string;
}

/** Makes the backend of one path; called lazily, once per host and path. */
export interface BackendFactory {
  peer(path: PeerPath, host: string): Backend;
  ssh(path: SshPath, host: string): Backend;
  local(): Backend;
}

/** A host: its declaration and its ordered backends (peer, then ssh), created on first use. */
export interface Host extends HostDecl {
  readonly paths: BackendKind[];
  backends(): Backend[];
}

/** Parses the lmcp hub's registry format (`name ssh_host lmcp_url token`, `-` for none, `#` comments). */
export function parseRegistryText(text: string, file: string): { hosts: HostDecl[]; problems: RegistryProblem[] } {
  const hosts: HostDecl[] = [];
  const problems: RegistryProblem[] = [];
  const seen = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const where = `${file}:${i + 1}`;
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const all = line.split(/\s+/);
    const comment = all.findIndex((f, k) => k >= 4 && f.startsWith("#"));
    const fields = comment >= 0 ? all.slice(0, comment) : all;
    const bad = (message: string) => void problems.push({ where, message });
    if (fields.length < 2 || fields.length > 4) {
      return bad(`expected 'name ssh_host lmcp_url token' (use - for none), got ${fields.length} field(s)`);
    }
    const [name, ssh, url, token] = fields.map((f) => (f === "-" ? undefined : f)) as Array<string | undefined>;
    if (!name || !HOST_NAME.test(name)) {
      return bad(`bad host name '${fields[0]}': use letters, digits, '.', '_' and '-' (at most 63, not starting with '.', '_' or '-')`);
    }
    const first = seen.get(name);
    if (first) return bad(`duplicate host '${name}' (first declared at ${first})`);
    if (ssh !== undefined && (ssh.startsWith("-") || /[\s'"`$;&|<>\\]/.test(ssh))) {
      return bad(`host '${name}': bad ssh_host '${ssh}'`);
    }
    if (url !== undefined && !isHttpUrl(url)) return bad(`host '${name}': lmcp_url '${url}' is not an http(s) URL`);
    if (token !== undefined && url === undefined) return bad(`host '${name}': a token without an lmcp_url`);
    if (ssh === undefined && url === undefined) return bad(`host '${name}': neither ssh_host nor lmcp_url given`);
    seen.set(name, where);
    hosts.push({ name, origin: where, ...(url ? { peer: { url, ...(token ? { token } : {}) } } : {}), ...(ssh ? { ssh } : {}) });
  });
  return { hosts, problems };
}

/** Every declared host: config `hosts`, the registry file, and `local` unless disabled. */
export function declareHosts(config: Config, readText: (f: string) => string = (f) => readFileSync(f, "utf8")) {
  const hosts: HostDecl[] = [];
  const problems: RegistryProblem[] = [];
  const byName = new Map<string, HostDecl>();
  const add = (h: HostDecl) => {
    if (h.name === LOCAL_HOST && config.local && !h.local) {
      return void problems.push({ where: h.origin, message: `'${LOCAL_HOST}' is this machine; set "local": false in the config to use the name for another host` });
    }
    const prior = byName.get(h.name);
    if (prior) return void problems.push({ where: h.origin, message: `duplicate host '${h.name}' (first declared at ${prior.origin})` });
    byName.set(h.name, h);
    hosts.push(h);
  };
  if (config.local) add({ name: LOCAL_HOST, origin: "built-in", local: true });
  config.hosts.forEach((h, i) => {
    const origin = `config hosts[${i}]`;
    if (!h.ssh && !h.peer) return void problems.push({ where: origin, message: `host '${h.name}': give ssh or peer (or both)` });
    add({ name: h.name, origin, ...(h.peer ? { peer: h.peer } : {}), ...(h.ssh ? { ssh: h.ssh } : {}) });
  });
  if (config.hostsFile) {
    let text: string | undefined;
    try {
      text = readText(config.hostsFile);
    } catch (e) {
      problems.push({ where: config.hostsFile, message: `cannot read the host registry: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
    }
    if (text !== undefined) {
      const parsed = parseRegistryText(text, config.hostsFile);
      problems.push(...parsed.problems);
      parsed.hosts.forEach(add);
    }
  }
  return { hosts, problems };
}

/** The hosts this hub can reach, by name; backends are made on first use and closed at shutdown. */
export class HostRegistry {
  private readonly hosts = new Map<string, Host>();
  private readonly made: Backend[] = [];

  constructor(
    decls: HostDecl[],
    readonly problems: RegistryProblem[],
    private readonly factory: BackendFactory,
  ) {
    for (const d of decls) this.hosts.set(d.name, this.host(d));
  }

  /** Loads config and registry file; each problem is logged, the good hosts load regardless. */
  static load(config: Config, log: Logger, factory: BackendFactory): HostRegistry {
    const { hosts, problems } = declareHosts(config);
    for (const p of problems) log.warn("host registry problem", { where: p.where, problem: p.message });
    return new HostRegistry(hosts, problems, factory);
  }

  names(): string[] {
    return [...this.hosts.keys()].sort();
  }

  get(name: string): Host | undefined {
    return this.hosts.get(name);
  }

  get size(): number {
    return this.hosts.size;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.made.splice(0).map((b) => b.close()));
  }

  private host(d: HostDecl): Host {
    const paths: BackendKind[] = d.local ? ["local"] : [...(d.peer ? ["peer" as const] : []), ...(d.ssh ? ["ssh" as const] : [])];
    let backends: Backend[] | undefined;
    return {
      ...d,
      paths,
      backends: () =>
        (backends ??= paths.map((kind) => {
          const b = kind === "local" ? this.factory.local() : kind === "peer" ? this.factory.peer(d.peer!, d.name) : this.factory.ssh(d.ssh!, d.name);
          this.made.push(b);
          return b;
        })),
    };
  }
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}
