import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { PeerBackend, redactUrl } from "../backends/peer.js";
import { SshHostIO } from "../backends/ssh/ssh.js";
import { readKnownHosts } from "../backends/ssh/hostkey.js";
import type { Config } from "../config.js";
import type { Check } from "./table.js";
import { entryMatchesHost, knownHostsName } from "../backends/ssh/knownhosts.js";
import { declareHosts, type HostDecl, type PeerPath, type SshPath } from "../hosts/registry.js";
import { parseProxyJump, resolveSshTarget, type SshSpec, type SshTarget } from "../backends/ssh/sshconfig.js";
import { silentLogger } from "../log.js";

/** The host registry's problems, then per host: peer (reachable, token) and SSH (key, known_hosts, login). */
export async function hostChecks(config: Config): Promise<Check[]> {
  const { hosts, problems } = declareHosts(config);
  const out: Check[] = problems.map((p) => ({
    check: `hosts ${p.where}`,
    status: "FAIL" as const,
    detail: p.message,
    fix: "fix or remove that entry; the other hosts load regardless",
  }));
  const perHost = await Promise.all(hosts.map((h) => oneHost(h, config)));
  return [...out, ...perHost.flat()];
}

async function oneHost(h: HostDecl, config: Config): Promise<Check[]> {
  if (h.local) return [{ check: `host ${h.name}`, status: "OK", detail: "this machine (built-in)" }];
  const out: Check[] = [];
  if (h.peer) out.push(await peerCheck(h.name, h.peer, config.peerTimeoutSeconds * 1000));
  if (h.ssh) out.push(...(await sshChecks(h.name, h.ssh, config.sshTimeoutSeconds * 1000)));
  return out;
}

/** A real MCP initialize + tools/list (or lmcp plain JSON-RPC), bounded by the peer timeout. */
async function peerCheck(host: string, peer: PeerPath, timeoutMs: number): Promise<Check> {
  const check = `host ${host} peer`;
  const where = redactUrl(peer.url);
  const backend = new PeerBackend({ url: peer.url, token: peer.token, timeoutMs, log: silentLogger });
  try {
    const tools = await bounded(backend.listTools(), timeoutMs + 1000, `no answer within ${(timeoutMs + 1000) / 1000}s`);
    const mode = await backend.mode();
    const auth = peer.token ? ", token accepted" : ", no token sent";
    return { check, status: "OK", detail: `${where}: ${mode === "mcp" ? "MCP" : "plain JSON-RPC (lmcp)"} answered with ${tools.length} tools${auth}` };
  } catch (e) {
    const why = (e as Error).message;
    if (/auth refused/.test(why)) {
      return {
        check,
        status: "FAIL",
        detail: `${where}: reachable, but the token was refused (${peer.token ? "wrong token" : "no token configured"})`,
        fix: `set this host's peer token to the token the peer at ${where} was started with (MCP_HERD_TOKEN or --token-file there)`,
      };
    }
    return {
      check,
      status: "FAIL",
      detail: `${where}: unreachable: ${why}`,
      fix: `start the peer on that machine (mcp-herd --peer --http HOST:PORT) or correct the URL; calls fall back to SSH if configured`,
    };
  } finally {
    await backend.close().catch(() => undefined);
  }
}

/** Key file readable, a known_hosts entry for host:port, and a real login, bounded by the SSH timeout. */
async function sshChecks(host: string, path: SshPath, timeoutMs: number): Promise<Check[]> {
  const spec: SshSpec =
    typeof path === "string"
      ? parseProxyJump(path)[0]!
      : { host: path.host, port: path.port, user: path.user, identityFile: path.identityFile, proxyJump: path.proxyJump };
  let target: SshTarget;
  try {
    target = await resolveSshTarget(spec, { timeoutMs, ...(typeof path === "object" && path.sshConfig ? { configFile: path.sshConfig } : {}) });
  } catch (e) {
    return [
      {
        check: `host ${host} ssh`,
        status: "FAIL",
        detail: `cannot resolve the SSH target: ${(e as Error).message}`,
        fix: "correct the host's ssh entry (host, user, port) or its ~/.ssh/config block",
      },
    ];
  }
  const knownFiles = typeof path === "object" && path.knownHostsFile ? [path.knownHostsFile] : target.knownHostsFiles;
  const acceptNew = typeof path === "object" && path.acceptNewHostKey === true;
  const key = await keyCheck(host, spec, target);
  const known = await knownHostsCheck(host, target, knownFiles, acceptNew);
  const login =
    known.status === "OK" || !acceptNew
      ? await loginCheck(host, target, knownFiles, timeoutMs)
      : [{ check: `host ${host} ssh login`, status: "WARN" as const, detail: "not tried: the host key is not recorded yet", fix: "the first connection records it (acceptNewHostKey)" }];
  return [key, known, ...login];
}

async function keyCheck(host: string, spec: SshSpec, target: SshTarget): Promise<Check> {
  const check = `host ${host} ssh key`;
  if (spec.identityFile) {
    try {
      await access(spec.identityFile, constants.R_OK);
      const head = (await readFile(spec.identityFile, "utf8")).slice(0, 100);
      if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(head)) {
        return { check, status: "FAIL", detail: `${spec.identityFile} is not a private key file`, fix: "point identityFile at the private key (not the .pub)" };
      }
      return { check, status: "OK", detail: `${spec.identityFile} readable${target.agent ? "; ssh-agent also available" : ""}` };
    } catch (e) {
      return {
        check,
        status: "FAIL",
        detail: `identity file ${spec.identityFile} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        fix: `correct identityFile for '${host}', or create a key (ssh-keygen -t ed25519 -f ${spec.identityFile}) and add its .pub to the host's authorized_keys`,
      };
    }
  }
  if (target.identityFiles.length === 0 && !target.agent) {
    return {
      check,
      status: "FAIL",
      detail: "no private key found (~/.ssh/id_*, IdentityFile) and no ssh-agent (SSH_AUTH_SOCK)",
      fix: `set identityFile for '${host}', or start ssh-agent and ssh-add your key`,
    };
  }
  const keys = target.identityFiles.length ? target.identityFiles.join(", ") : "none";
  return { check, status: "OK", detail: `keys: ${keys}; agent: ${target.agent ? "yes" : "no"}` };
}

async function knownHostsCheck(host: string, target: SshTarget, files: string[], acceptNew: boolean): Promise<Check> {
  const check = `host ${host} known_hosts`;
  const name = knownHostsName(target.hostKeyAlias ?? target.hostName, target.port);
  const entries = await readKnownHosts(files, silentLogger);
  const hit = entries.find((e) => e.marker === undefined && entryMatchesHost(e, name));
  if (hit) return { check, status: "OK", detail: `${name} is in ${hit.source}:${hit.line} (${hit.keyType})` };
  const ca = entries.find((e) => e.marker === "cert-authority" && entryMatchesHost(e, name));
  if (ca) return { check, status: "OK", detail: `${name} matches @cert-authority ${ca.source}:${ca.line}: its host certificate is checked at login` };
  const where = files.length ? files.join(", ") : "(no known_hosts file configured)";
  if (acceptNew) return { check, status: "WARN", detail: `no entry for ${name} in ${where}`, fix: "acceptNewHostKey will record the key on first connect; check its fingerprint in the log" };
  return {
    check,
    status: "FAIL",
    detail: `no entry for ${name} in ${where}`,
    fix: `connect once with ssh -p ${target.port} ${target.user}@${target.hostName} and check the fingerprint (or ssh-keyscan -p ${target.port} ${target.hostName} >> ${files[0] ?? "~/.ssh/known_hosts"}), or set acceptNewHostKey`,
  };
}

async function loginCheck(host: string, target: SshTarget, files: string[], timeoutMs: number): Promise<Check[]> {
  const check = `host ${host} ssh login`;
  const io = new SshHostIO({ target, connectTimeoutMs: timeoutMs, knownHostsFiles: files, acceptNewHostKey: false, log: silentLogger });
  try {
    await bounded(io.connect(), timeoutMs + 2000, `no SSH login within ${(timeoutMs + 2000) / 1000}s`);
    const ok: Check = { check, status: "OK", detail: `logged in as ${target.user}@${target.hostName}:${target.port}${target.proxyCommand ? " through its ProxyCommand" : ""}` };
    return [ok, await pathsCheck(host, io, timeoutMs)];
  } catch (e) {
    const why = (e as Error).message;
    const fix = /host key|known_hosts|verification/i.test(why)
      ? "record the host's key in known_hosts (see the known_hosts row)"
      : /no usable key/i.test(why)
        ? "give the host a readable key file or load a key into ssh-agent (see the ssh key row)"
      : /auth|permission denied|publickey/i.test(why)
        ? `authorize the key: append its .pub to ~${target.user}/.ssh/authorized_keys on ${target.hostName}`
        : `check that sshd runs on ${target.hostName}:${target.port} and that this machine can reach it`;
    return [{ check, status: "FAIL", detail: `${target.user}@${target.hostName}:${target.port}: ${why}`, fix }];
  } finally {
    await io.close().catch(() => undefined);
  }
}

/** Which paths serve the host: SFTP or the exec path, bash or sh, the agent or a new exec channel per command, ProxyCommand. */
async function pathsCheck(host: string, io: SshHostIO, timeoutMs: number): Promise<Check> {
  const check = `host ${host} ssh paths`;
  try {
    const d = await bounded(io.describe(), timeoutMs + 5000, `the host did not answer within ${(timeoutMs + 5000) / 1000}s`);
    const detail = [
      `SFTP ${d.sftp ? "yes" : "no (files over the exec path: sh -s, base64)"}`,
      `shell ${d.shell}${d.shell === "sh" ? ` (${d.sh}; no bash)` : ""}`,
      d.agent
        ? "agent yes (python3)"
        : `agent no (${d.python3 ? "it did not start" : "no python3"}): fallback, ${d.session ? "a persistent sh session (one command at a time; others on new exec channels)" : "a new exec channel per command"}`,
      `ProxyCommand ${d.proxyCommand ? "yes" : "no"}`,
    ].join("; ");
    return { check, status: "OK", detail };
  } catch (e) {
    return { check, status: "WARN", detail: `could not ask the host what it offers: ${(e as Error).message}`, fix: "the host needs a POSIX sh and base64 (BusyBox has both)" };
  }
}

function bounded<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
