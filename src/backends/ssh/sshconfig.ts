import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import { matchPattern } from "./knownhosts.js";
import { spawnStarted } from "../../util/spawn.js";

/** An SSH host as OpenSSH would reach it, every field resolved. */
export interface SshTarget {
  /** The name the host was configured with (an ssh_config alias or a host name). */
  alias: string;
  hostName: string;
  port: number;
  user: string;
  /** Private key files that exist, in the order OpenSSH would try them. */
  identityFiles: string[];
  /** Agent socket path; undefined when there is no agent. */
  agent?: string;
  /** Hops to go through first, outermost first (ProxyJump), each resolved the same way. */
  jumps: SshTarget[];
  /** known_hosts files to check (user files first; new keys are appended to the first). */
  knownHostsFiles: string[];
  /** Name to look up in known_hosts instead of hostName (HostKeyAlias). */
  hostKeyAlias?: string;
  /** The ssh_config value, reported only: mcp-herd never loosens host key checking from it. */
  strictHostKeyChecking?: string;
  source: "ssh -G" | "ssh_config";
  /** Things ignored or unsupported (Match in the fallback parser, ...). */
  warnings: string[];
  /** ssh_config ProxyCommand with %h %p %r %n expanded: the connection rides on its stdin/stdout. */
  proxyCommand?: string;
}

export interface SshSpec {
  host: string;
  port?: number;
  user?: string;
  identityFile?: string;
  proxyJump?: string;
}

export interface ResolveOptions {
  /** The `ssh` binary; null forces the built-in ssh_config parser. */
  sshBinary?: string | null;
  /** An ssh_config file instead of the user's (`ssh -F`). */
  configFile?: string;
  home?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** A host string is refused before anything runs if it could be read as an option or split. */
const UNSAFE = /^-|[\s\x00-\x1f\x7f;]/;
const MAX_JUMPS = 5;

// Why: refuse ssh host / user strings that `ssh` could read as options or that smuggle separators.
export function checkSshWord(what: string, value: string): void {
  if (value === "" || UNSAFE.test(value)) {
    throw new Error(
      `invalid ${what} ${JSON.stringify(value)}: it must not be empty, start with '-', or contain whitespace, control characters or ';'`,
    );
  }
}

// Why: resolve an ssh_host exactly as OpenSSH would (ssh -G), with the spec's explicit fields winning.
export async function resolveSshTarget(spec: SshSpec, opts: ResolveOptions = {}, depth = 0): Promise<SshTarget> {
  checkSshWord("ssh host", spec.host);
  if (spec.user !== undefined) checkSshWord("ssh user", spec.user);
  if (spec.port !== undefined && !(Number.isInteger(spec.port) && spec.port >= 1 && spec.port <= 65535)) {
    throw new Error(`invalid ssh port ${spec.port} for ${spec.host}: use 1-65535`);
  }
  const env = opts.env ?? process.env;
  const home = opts.home ?? homedir();
  const warnings: string[] = [];
  let values: Map<string, string[]> | undefined;
  let source: SshTarget["source"] = "ssh_config";
  if (opts.sshBinary !== null) {
    values = await sshDashG(opts.sshBinary ?? "ssh", spec, opts);
    if (values) source = "ssh -G";
  }
  if (!values) {
    const files = opts.configFile ? [opts.configFile] : [join(home, ".ssh", "config"), "/etc/ssh/ssh_config"];
    values = parseSshConfig(files, spec.host, warnings);
  }
  const first = (k: string) => values.get(k)?.[0];
  const localUser = env.USER ?? userInfo().username;
  const hostName = expandTokens(first("hostname") ?? spec.host, { h: spec.host, d: home, u: localUser });
  const user = spec.user ?? first("user") ?? localUser;
  const port = spec.port ?? Number(first("port") ?? 22);
  const tokens = { h: hostName, d: home, u: localUser, r: user, p: String(port) };
  const expand = (p: string) => expandTokens(expandHome(p, home), tokens);

  const identityCandidates = spec.identityFile ? [spec.identityFile, ...(values.get("identityfile") ?? [])] : (values.get("identityfile") ?? defaultIdentities());
  const identityFiles = [...new Set(identityCandidates.map(expand))].filter(isFile);
  if (spec.identityFile && !isFile(expand(spec.identityFile))) {
    warnings.push(`identity file ${spec.identityFile} does not exist`);
  }

  const agentValue = first("identityagent") ?? "SSH_AUTH_SOCK";
  let agent: string | undefined;
  if (agentValue === "SSH_AUTH_SOCK") agent = env.SSH_AUTH_SOCK || undefined;
  else if (agentValue !== "none") agent = agentValue.startsWith("$") ? env[agentValue.slice(1)] : expand(agentValue);

  const userKnown = (values.get("userknownhostsfile") ?? ["~/.ssh/known_hosts", "~/.ssh/known_hosts2"]).flatMap(splitList);
  const globalKnown = (values.get("globalknownhostsfile") ?? ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"]).flatMap(splitList);
  const knownHostsFiles = [...userKnown, ...globalKnown].filter((f) => f !== "none").map(expand);

  const proxyCommandRaw = first("proxycommand");
  const proxyCommand = proxyCommandRaw && proxyCommandRaw !== "none" ? proxyCommandFor(proxyCommandRaw, { h: hostName, p: String(port), r: user, n: spec.host }) : undefined;
  const jumpSpec = spec.proxyJump ?? (proxyCommand ? undefined : first("proxyjump"));
  const jumps: SshTarget[] = [];
  if (jumpSpec && jumpSpec !== "none") {
    if (depth >= MAX_JUMPS) throw new Error(`ProxyJump chain for ${spec.host} is deeper than ${MAX_JUMPS} hops (a loop?)`);
    for (const hop of parseProxyJump(jumpSpec)) {
      const t = await resolveSshTarget(hop, opts, depth + 1);
      jumps.push(...t.jumps, { ...t, jumps: [] });
    }
  }

  const target: SshTarget = { alias: spec.host, hostName, port, user, identityFiles, jumps, knownHostsFiles, source, warnings };
  if (proxyCommand && !jumps.length) target.proxyCommand = proxyCommand;
  if (agent) target.agent = agent;
  const alias = first("hostkeyalias");
  if (alias && alias !== "none") target.hostKeyAlias = alias;
  const strict = first("stricthostkeychecking");
  if (strict) target.strictHostKeyChecking = strict;
  return target;
}

// Why: `[user@]host[:port]` and `ssh://user@host:port` hops, comma-separated, as ProxyJump writes them.
export function parseProxyJump(value: string): SshSpec[] {
  return value.split(",").map((raw) => {
    const hop = raw.trim().replace(/^ssh:\/\//, "");
    const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:@]+)(?::(\d+))?$/.exec(hop);
    if (!m) throw new Error(`invalid ProxyJump hop ${JSON.stringify(raw)}: use [user@]host[:port]`);
    const spec: SshSpec = { host: m[2]!.replace(/^\[|\]$/g, "") };
    if (m[1]) spec.user = m[1];
    if (m[3]) spec.port = Number(m[3]);
    return spec;
  });
}

// Why: the built-in reader of ssh_config for machines without the `ssh` binary: Host blocks, first value wins.
export function parseSshConfigText(text: string, host: string, warnings: string[], into = new Map<string, string[]>()): Map<string, string[]> {
  let active = true;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z]+)\s*(?:=\s*|\s+)(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const args = splitArgs(m[2]!);
    if (key === "host") {
      active = hostBlockMatches(args, host);
      continue;
    }
    if (key === "match") {
      active = args.length === 1 && args[0]!.toLowerCase() === "all";
      if (!active) warnings.push(`ssh_config 'Match ${m[2]}' is not evaluated without the ssh binary; its block was skipped`);
      continue;
    }
    if (!active) continue;
    if (key === "include") {
      warnings.push(`ssh_config 'Include ${m[2]}' is not followed without the ssh binary`);
      continue;
    }
    const value = args.join(" ");
    if (key === "identityfile" || key === "certificatefile") into.set(key, [...(into.get(key) ?? []), value]);
    else if (!into.has(key)) into.set(key, [value]);
  }
  return into;
}

// Why: `Host` lines: any positive pattern matches and no negated one does.
export function hostBlockMatches(patterns: string[], host: string): boolean {
  const h = host.toLowerCase();
  let positive = false;
  for (const p of patterns) {
    if (p.startsWith("!")) {
      if (matchPattern(h, p.slice(1).toLowerCase())) return false;
    } else if (matchPattern(h, p.toLowerCase())) positive = true;
  }
  return positive;
}

function parseSshConfig(files: string[], host: string, warnings: string[]): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    parseSshConfigText(text, host, warnings, values);
  }
  return values;
}

/** `ssh -G`: OpenSSH's own evaluation; undefined when ssh is missing or fails. */
function sshDashG(bin: string, spec: SshSpec, opts: ResolveOptions): Promise<Map<string, string[]> | undefined> {
  const args = ["-G"];
  if (opts.configFile) args.push("-F", opts.configFile);
  if (spec.user) args.push("-l", spec.user);
  if (spec.port) args.push("-p", String(spec.port));
  args.push(spec.host);
  const started = spawnStarted(bin, args, { stdio: ["ignore", "pipe", "ignore"], env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 5000 });
  return started.then(
    (child) => readDashG(child),
    () => undefined,
  );
}

function readDashG(child: ChildProcess): Promise<Map<string, string[]> | undefined> {
  return new Promise((resolve) => {
    let out = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (d: string) => (out.length < 1_000_000 ? (out += d) : undefined));
    child.on("error", () => resolve(undefined));
    child.on("close", (code) => {
      if (code !== 0) return resolve(undefined);
      const values = new Map<string, string[]>();
      for (const line of out.split("\n")) {
        const i = line.indexOf(" ");
        if (i <= 0) continue;
        const key = line.slice(0, i).toLowerCase();
        values.set(key, [...(values.get(key) ?? []), line.slice(i + 1)]);
      }
      resolve(values);
    });
  });
}

function splitArgs(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.push(m[1] ?? m[2]!);
  return out;
}

function splitList(s: string): string[] {
  return splitArgs(s);
}

function defaultIdentities(): string[] {
  return ["id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss", "id_dsa"].map((f) => `~/.ssh/${f}`);
}

function expandHome(p: string, home: string): string {
  if (p === "~") return home;
  return p.startsWith("~/") ? join(home, p.slice(2)) : p;
}

/** Host and user names that may be put into a ProxyCommand (as OpenSSH 9.6 refuses shell metacharacters there). */
const PROXY_TOKEN_SAFE = /^[A-Za-z0-9._@:[\]-]+$/;

// Why: the ProxyCommand with its tokens expanded; a name holding shell metacharacters is refused, never run.
function proxyCommandFor(command: string, tokens: Record<string, string>): string {
  for (const [t, v] of Object.entries(tokens)) {
    if (command.includes(`%${t}`) && !PROXY_TOKEN_SAFE.test(v)) {
      throw new Error(`refusing to put ${JSON.stringify(v)} into a ProxyCommand (%${t}): it holds characters a shell would interpret`);
    }
  }
  return expandTokens(command, tokens);
}

function expandTokens(s: string, tokens: Record<string, string>): string {
  return s.replace(/%([%a-zA-Z])/g, (all, t: string) => (t === "%" ? "%" : (tokens[t] ?? all)));
}

function isFile(p: string): boolean {
  try {
    return existsSync(p) && statSync(p).isFile();
  } catch {
    return false;
  }
}
