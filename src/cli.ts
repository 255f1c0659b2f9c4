import { ConfigError } from "./config-error.js";
import type { ConfigSources } from "./config.js";

/** The text of --help, printed on stdout. */
export const HELP = `mcp-herd: one MCP server for a whole fleet.

Usage:
  mcp-herd [options]                 serve MCP on stdio (what an MCP client config runs)
  mcp-herd --http [HOST:]PORT        serve streamable HTTP at /mcp (default 127.0.0.1:8090)
  mcp-herd doctor [--config FILE] [--hosts FILE]
                                     check Node, git, npm, uv/python, bun, the config, every host
                                     (peer, token, ssh key, known_hosts, login) and every service;
                                     prints what to do for each problem; exit 1 when something is broken

Options:
  --http [HOST:]PORT     serve HTTP instead of stdio; GET /health answers for probes
  --config FILE          JSON config file (see README); unknown keys are an error
  --token TOKEN          bearer token required on /mcp (prefer env MCP_HERD_TOKEN or
                         --token-file: a token on the command line is visible in ps)
  --token-file FILE      read the token from FILE
  --peer                 also serve this machine's host tools (shell, read_file, ...)
                         so another mcp-herd or an lmcp hub can use it as a peer
  --hosts FILE           lmcp hub registry file (name ssh_host lmcp_url token)
  --state-dir DIR        where services and state live (default $XDG_STATE_HOME/mcp-herd)
  --no-proxy-tools       do not serve <service>__<tool> tools (use service_call)
  --follow-state         load and unload what other mcp-herd processes sharing the
                         state folder load and unload (replicas behind one address)
  --log-level LEVEL      debug | info | warn | error (default info); logs go to stderr
  --log-format FORMAT    text | json (default text)
  --print-config         print the effective config (secrets masked) and where each
                         value came from (default, file, env, flag), then exit
  --print-config-schema  print the JSON Schema of the config file, then exit
  -h, --help             show this help
  -v, --version          print the version

Environment: MCP_HERD_TOKEN, MCP_HERD_STATE_DIR, MCP_HERD_FOLLOW_STATE, MCP_HERD_LOG_LEVEL,
LMCP_HUB_BACKENDS, LMCP_HUB_PROBE_TTL, LMCP_HUB_LMCP_TIMEOUT, LMCP_HUB_SSH_TIMEOUT.
`;

export type CliAction =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "schema" }
  | { kind: "serve" | "print-config" | "doctor"; sources: Omit<ConfigSources, "env">; tokenFile?: string };

/** Parses argv (without node and script); every mistake is a ConfigError naming the flag. */
export function parseCli(argv: string[]): CliAction {
  if (argv[0] === "doctor") {
    const rest = parseCli(argv.slice(1));
    if (rest.kind === "help") return rest;
    if (rest.kind !== "serve") throw new ConfigError(`mcp-herd doctor takes only config options (--config, --hosts, ...), not ${argv.slice(1).join(" ")}`);
    return { ...rest, kind: "doctor" };
  }
  const flags: ConfigSources["flags"] = {};
  let file: string | undefined;
  let tokenFile: string | undefined;
  let print = false;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new ConfigError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case "-h":
      case "--help":
        return { kind: "help" };
      case "-v":
      case "--version":
        return { kind: "version" };
      case "--http": {
        const next = argv[i + 1];
        if (inline !== undefined) flags.http = inline;
        else if (next !== undefined && /^(\[[^\]]+\]:|[^-][^:]*:)?\d+$/.test(next)) flags.http = argv[++i]!;
        else flags.http = true;
        break;
      }
      case "--config":
        file = value();
        break;
      case "--token":
        flags.token = value();
        break;
      case "--token-file":
        tokenFile = value();
        break;
      case "--hosts":
        flags.hostsFile = value();
        break;
      case "--state-dir":
        flags.stateDir = value();
        break;
      case "--log-level":
        flags.logLevel = value();
        break;
      case "--log-format":
        flags.logFormat = value();
        break;
      case "--print-config-schema":
        return { kind: "schema" };
      case "--print-config":
        print = true;
        break;
      case "--peer":
        flags.peer = true;
        break;
      case "--no-proxy-tools":
        flags.noProxyTools = true;
        break;
      case "--follow-state":
        flags.followState = true;
        break;
      default:
        throw new ConfigError(`unknown option '${argv[i]}' (see mcp-herd --help)`);
    }
  }
  return { kind: print ? "print-config" : "serve", sources: { file, flags }, tokenFile };
}
