import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "../../log.js";
import { checkHostCert, fetchHostCerts, parseHostCert } from "./hostcert.js";
import { checkHostKey, describeRefusal, fingerprintSha256, keyTypeOf, knownHostsLine, knownKeyTypes, parseKnownHosts, type KnownHostsEntry } from "./knownhosts.js";

export interface HostKeyPolicy {
  /** Where a host certificate can be fetched from (undefined behind a ProxyCommand or jump host). */
  certFrom?: { host: string; port: number };
  /** Name and port looked up in known_hosts (HostKeyAlias is looked up without a port, as OpenSSH does). */
  host: string;
  port: number;
  files: string[];
  acceptNew: boolean;
  log: Logger;
}

// Why: the known_hosts side of ssh2's hostVerifier: read the files, decide, append a newly trusted key.
export async function verifyHostKey(key: Buffer, policy: HostKeyPolicy): Promise<{ ok: true } | { ok: false; message: string }> {
  const entries = await readKnownHosts(policy.files, policy.log);
  const check = checkHostKey(entries, policy.host, policy.port, key);
  if (check.status === "match") return { ok: true };
  let message = describeRefusal(check, policy.host, policy.port, key, policy.files);
  if (check.status === "unknown" && check.certAuthorityOnly) {
    const cert = await certified(key, entries, policy);
    if (cert.ok) return { ok: true };
    message = `host key for ${policy.host}:${policy.port} (${keyTypeOf(key)} ${fingerprintSha256(key)}) is not accepted: only @cert-authority entries match, and ${cert.why}`;
    return { ok: false, message };
  }
  if (check.status !== "unknown" || !policy.acceptNew) return { ok: false, message };
  const file = policy.files[0];
  if (!file) return { ok: false, message: `${message}; no known_hosts file is configured to record it in` };
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await appendFile(file, knownHostsLine(policy.host, policy.port, key) + "\n", { mode: 0o600 });
  } catch (err) {
    return { ok: false, message: `${message}; could not record it in ${file}: ${(err as Error).message}` };
  }
  policy.log.warn("trusted a new host key (acceptNewHostKey)", {
    host: `${policy.host}:${policy.port}`,
    key: `${keyTypeOf(key)} ${fingerprintSha256(key)}`,
    file,
  });
  return { ok: true };
}

/** The host's certificates for `key`, checked against the @cert-authority entries; the first that passes wins. */
async function certified(key: Buffer, entries: KnownHostsEntry[], policy: HostKeyPolicy): Promise<{ ok: true } | { ok: false; why: string }> {
  if (!policy.certFrom) return { ok: false, why: "host certificates cannot be fetched through a ProxyCommand or jump host" };
  let blobs: Buffer[];
  try {
    blobs = await fetchHostCerts(policy.certFrom.host, policy.certFrom.port);
  } catch (err) {
    return { ok: false, why: (err as Error).message };
  }
  if (!blobs.length) return { ok: false, why: "the host offers no host certificate" };
  const whys: string[] = [];
  for (const blob of blobs) {
    try {
      const r = checkHostCert(parseHostCert(blob), key, entries, policy.host, policy.port);
      if (r.ok) {
        policy.log.debug("host key accepted by its certificate", { host: `${policy.host}:${policy.port}`, ca: `${r.ca.source}:${r.ca.line}` });
        return { ok: true };
      }
      whys.push(r.why);
    } catch (err) {
      whys.push(`its certificate cannot be read (${(err as Error).message})`);
    }
  }
  return { ok: false, why: `its certificate is refused: ${whys.join("; ")}` };
}

// Why: ask the server for a key type we already know, so a second key type is not mistaken for a changed key.
export async function preferredHostKeyAlgorithms(policy: HostKeyPolicy): Promise<string[]> {
  const types = knownKeyTypes(await readKnownHosts(policy.files, policy.log), policy.host, policy.port);
  return types.flatMap((t) => (t === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : SUPPORTED.has(t) ? [t] : []));
}

const SUPPORTED = new Set(["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"]);

/** Every entry of these known_hosts files, in order; a missing file is skipped, a bad line logged at debug. */
export async function readKnownHosts(files: string[], log: Logger): Promise<KnownHostsEntry[]> {
  const entries: KnownHostsEntry[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      continue;
    }
    const parsed = parseKnownHosts(text, file);
    for (const e of parsed.errors) log.debug("skipped a known_hosts line", { error: e });
    entries.push(...parsed.entries);
  }
  return entries;
}
