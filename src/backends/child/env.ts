import { getDefaultEnvironment } from "@modelcontextprotocol/client/stdio";

export interface ChildEnvOptions {
  /** false: only the minimal set (HOME, LOGNAME, PATH, SHELL, TERM, USER) plus `extra`. */
  inherit: boolean;
  /** The service's own variables (and e.g. a venv's PATH), applied last. */
  extra: Record<string, string>;
  /** Secret values of mcp-herd (its token, peer tokens): variables holding them are never passed on. */
  secrets: string[];
}

const OWN_SECRET_KEYS = /^(MCP_HERD_TOKEN|MCP_HERD_.*TOKEN.*|LMCP_.*TOKEN.*)$/;

/** The environment a child gets: ours minus mcp-herd's secrets, plus the service's env. */
export function childEnv(base: NodeJS.ProcessEnv, opts: ChildEnvOptions): Record<string, string> {
  const env: Record<string, string> = {};
  const source = opts.inherit ? base : getDefaultEnvironment();
  const secrets = new Set(opts.secrets.filter((s) => s.length > 0));
  for (const [k, v] of Object.entries(source)) {
    if (v === undefined || OWN_SECRET_KEYS.test(k) || secrets.has(v) || v.startsWith("()")) continue;
    env[k] = v;
  }
  return { ...env, ...opts.extra };
}

/** Our environment minus mcp-herd's own secret variables, for commands run on this machine (shell tools). */
export function withoutOwnSecrets(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(base).filter(([k]) => !OWN_SECRET_KEYS.test(k)));
}
