import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** One usable line of a known_hosts file. */
export interface KnownHostsEntry {
  marker?: "revoked" | "cert-authority";
  /** Comma-separated host patterns; absent for a hashed entry. */
  patterns?: string[];
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  key: Buffer;
  source: string;
  line: number;
}

export type HostKeyCheck =
  | { status: "match"; entry: KnownHostsEntry }
  | { status: "mismatch"; known: KnownHostsEntry[]; sameType: boolean }
  | { status: "revoked"; entry: KnownHostsEntry }
  | { status: "unknown"; certAuthorityOnly: boolean };

// Why: parse known_hosts the way OpenSSH does, keeping line numbers for error messages; bad lines are reported, never fatal.
export function parseKnownHosts(text: string, source: string): { entries: KnownHostsEntry[]; errors: string[] } {
  const entries: KnownHostsEntry[] = [];
  const errors: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fields = line.split(/[ \t]+/);
    let marker: KnownHostsEntry["marker"];
    if (line.startsWith("@")) {
      const m = fields.shift();
      if (m === "@revoked") marker = "revoked";
      else if (m === "@cert-authority") marker = "cert-authority";
      else {
        errors.push(`${source}:${i + 1}: unknown marker ${m}`);
        return;
      }
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
      errors.push(`${source}:${i + 1}: not a known_hosts entry`);
      return;
    }
    const key = Buffer.from(b64, "base64");
    if (keyTypeOf(key) !== keyType) {
      errors.push(`${source}:${i + 1}: key type ${keyType} does not match the key data`);
      return;
    }
    const entry: KnownHostsEntry = { keyType, key, source, line: i + 1 };
    if (marker) entry.marker = marker;
    if (hosts.startsWith("|")) {
      const m = /^\|1\|([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/.exec(hosts);
      if (!m) {
        errors.push(`${source}:${i + 1}: unsupported hashed host field`);
        return;
      }
      entry.hashed = { salt: Buffer.from(m[1]!, "base64"), hash: Buffer.from(m[2]!, "base64") };
    } else {
      entry.patterns = hosts.split(",").filter((p) => p !== "");
    }
    entries.push(entry);
  });
  return { entries, errors };
}

// Why: OpenSSH stores non-22 ports as `[host]:port`, and looks up only that form.
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

// Why: one entry's host field against a lookup name: patterns with `*`, `?`, `!` negation, or an HMAC-SHA1 hash.
export function entryMatchesHost(entry: KnownHostsEntry, name: string): boolean {
  if (entry.hashed) {
    const mac = createHmac("sha1", entry.hashed.salt).update(name).digest();
    return mac.length === entry.hashed.hash.length && timingSafeEqual(mac, entry.hashed.hash);
  }
  let positive = false;
  for (const raw of entry.patterns ?? []) {
    const negated = raw.startsWith("!");
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!wildcardMatch(name, pattern)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

// Why: `ssh -G`-style check of a presented key: match, changed (possible MITM), revoked, or unknown.
export function checkHostKey(entries: KnownHostsEntry[], host: string, port: number, key: Buffer): HostKeyCheck {
  const name = knownHostsName(host, port);
  const forHost = entries.filter((e) => entryMatchesHost(e, name));
  const revoked = forHost.find((e) => e.marker === "revoked" && e.key.equals(key));
  if (revoked) return { status: "revoked", entry: revoked };
  const plain = forHost.filter((e) => e.marker === undefined);
  const match = plain.find((e) => e.key.equals(key));
  if (match) return { status: "match", entry: match };
  const type = keyTypeOf(key);
  const sameType = plain.filter((e) => e.keyType === type);
  if (sameType.length > 0) return { status: "mismatch", known: sameType, sameType: true };
  if (plain.length > 0) return { status: "mismatch", known: plain, sameType: false };
  return { status: "unknown", certAuthorityOnly: forHost.some((e) => e.marker === "cert-authority") };
}

// Why: the key types known for a host, so the client can ask the server for one of those first.
export function knownKeyTypes(entries: KnownHostsEntry[], host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  const types = entries.filter((e) => e.marker === undefined && entryMatchesHost(e, name)).map((e) => e.keyType);
  return [...new Set(types)];
}

// Why: the error a person reads when a key is refused: what, where, why, what to do.
export function describeRefusal(check: HostKeyCheck, host: string, port: number, key: Buffer, files: string[]): string {
  const where = `${host}:${port}`;
  const presented = `${keyTypeOf(key)} ${fingerprintSha256(key)}`;
  const name = knownHostsName(host, port);
  switch (check.status) {
    case "match":
      return `host key for ${where} matches ${check.entry.source}:${check.entry.line}`;
    case "revoked":
      return `host key for ${where} (${presented}) is marked @revoked in ${check.entry.source}:${check.entry.line}: connection refused`;
    case "mismatch": {
      const known = check.known.map((e) => `${e.keyType} ${fingerprintSha256(e.key)} (${e.source}:${e.line})`).join(", ");
      const what = check.sameType ? "changed" : "changed type";
      return (
        `host key for ${where} ${what}: the host presents ${presented} but known_hosts has ${known}. ` +
        `Someone may be intercepting the connection (man-in-the-middle), or the host was reinstalled. ` +
        `If you trust the new key, remove the old entry (ssh-keygen -R '${name}' -f ${check.known[0]!.source}) and reconnect.`
      );
    }
    case "unknown":
      return (
        `unknown host key for ${where} (${presented}): not in ${files.join(", ") || "any known_hosts file"}` +
        (check.certAuthorityOnly ? " (only @cert-authority entries match, and the host's certificate was not accepted)" : "") +
        ` (set acceptNewHostKey to trust it, or add it with ssh-keyscan after checking the fingerprint)`
      );
  }
}

// Why: the line OpenSSH itself would append for a newly trusted host.
export function knownHostsLine(host: string, port: number, key: Buffer): string {
  return `${knownHostsName(host, port)} ${keyTypeOf(key)} ${key.toString("base64")}`;
}

// Why: fingerprints in the form `ssh-keygen -l` and OpenSSH's warnings print.
export function fingerprintSha256(key: Buffer): string {
  return "SHA256:" + createHash("sha256").update(key).digest("base64").replace(/=+$/, "");
}

// Why: the key type is the first string inside the SSH wire-format key blob.
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return "";
  const len = key.readUInt32BE(0);
  if (len > 64 || 4 + len > key.length) return "";
  return key.subarray(4, 4 + len).toString("latin1");
}

/** OpenSSH `match_pattern`: `*` any run, `?` one character, everything else literal. */
function wildcardMatch(s: string, p: string): boolean {
  let si = 0;
  let pi = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === "?" || p[pi] === s[si])) {
      si++;
      pi++;
    } else if (pi < p.length && p[pi] === "*") {
      star = pi++;
      mark = si;
    } else if (star !== -1) {
      pi = star + 1;
      si = ++mark;
    } else return false;
  }
  while (pi < p.length && p[pi] === "*") pi++;
  return pi === p.length;
}

// Why: the same matcher for ssh_config `Host` patterns.
export { wildcardMatch as matchPattern };
