import { spawn } from "node:child_process";
import { verify as cryptoVerify } from "node:crypto";
import ssh2 from "ssh2";
import { entryMatchesHost, fingerprintSha256, keyTypeOf, knownHostsName, type KnownHostsEntry } from "./knownhosts.js";

const { utils } = ssh2;
const KEYSCAN_TIMEOUT_S = 5;

/** The fields of an OpenSSH host certificate (PROTOCOL.certkeys) this check needs. */
export interface HostCert {
  /** The certified key as a plain public key blob (what the server proves it holds in the handshake). */
  key: Buffer;
  serial: bigint;
  type: number;
  keyId: string;
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: Buffer;
  caKey: Buffer;
  /** Everything the CA signed: the certificate up to and including the signature key. */
  signed: Buffer;
  signature: Buffer;
}

/** Public fields after the nonce, per certified key type: strings (s) or mpints (m, same wire format). */
const KEY_FIELDS: Record<string, { plain: string; fields: number }> = {
  "ssh-ed25519-cert-v01@openssh.com": { plain: "ssh-ed25519", fields: 1 },
  "ecdsa-sha2-nistp256-cert-v01@openssh.com": { plain: "ecdsa-sha2-nistp256", fields: 2 },
  "ecdsa-sha2-nistp384-cert-v01@openssh.com": { plain: "ecdsa-sha2-nistp384", fields: 2 },
  "ecdsa-sha2-nistp521-cert-v01@openssh.com": { plain: "ecdsa-sha2-nistp521", fields: 2 },
  "ssh-rsa-cert-v01@openssh.com": { plain: "ssh-rsa", fields: 2 },
};

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  string(): Buffer {
    if (this.pos + 4 > this.buf.length) throw new Error("truncated certificate");
    const len = this.buf.readUInt32BE(this.pos);
    if (this.pos + 4 + len > this.buf.length) throw new Error("truncated certificate");
    const out = this.buf.subarray(this.pos + 4, this.pos + 4 + len);
    this.pos += 4 + len;
    return out;
  }
  raw(from: number): Buffer {
    return this.buf.subarray(from, this.pos);
  }
  u32(): number {
    if (this.pos + 4 > this.buf.length) throw new Error("truncated certificate");
    this.pos += 4;
    return this.buf.readUInt32BE(this.pos - 4);
  }
  u64(): bigint {
    if (this.pos + 8 > this.buf.length) throw new Error("truncated certificate");
    this.pos += 8;
    return this.buf.readBigUInt64BE(this.pos - 8);
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

// Why: OpenSSH host certificates are not understood by ssh2: read one from its wire blob.
export function parseHostCert(blob: Buffer): HostCert {
  const r = new Reader(blob);
  const type = r.string().toString("latin1");
  const kind = KEY_FIELDS[type];
  if (!kind) throw new Error(`unsupported certificate type ${type}`);
  r.string();
  const fieldsFrom = r.pos;
  for (let i = 0; i < kind.fields; i++) r.string();
  const key = Buffer.concat([sshString(Buffer.from(kind.plain)), r.raw(fieldsFrom)]);
  const serial = r.u64();
  const certType = r.u32();
  const keyId = r.string().toString("utf8");
  const pr = new Reader(r.string());
  const principals: string[] = [];
  while (!pr.done) principals.push(pr.string().toString("utf8"));
  const validAfter = r.u64();
  const validBefore = r.u64();
  const criticalOptions = r.string();
  r.string();
  r.string();
  const caKey = r.string();
  const signed = blob.subarray(0, r.pos);
  const signature = r.string();
  if (!r.done) throw new Error("trailing bytes after the certificate signature");
  return { key, serial, type: certType, keyId, principals, validAfter, validBefore, criticalOptions, caKey, signed, signature };
}

// Why: the CA's signature over the certificate, checked with node's crypto (ed25519, ECDSA, RSA SHA-2).
export function caSignatureValid(cert: HostCert): boolean {
  const parsed = utils.parseKey(`${keyTypeOf(cert.caKey)} ${cert.caKey.toString("base64")}`);
  if (parsed instanceof Error || Array.isArray(parsed)) return false;
  const pem = parsed.getPublicPEM();
  const caType = keyTypeOf(cert.caKey);
  // A malformed signature blob (it comes from the host) is a refusal, not a throw.
  try {
    const sr = new Reader(cert.signature);
    const algo = sr.string().toString("latin1");
    let sig = sr.string();
    if (caType === "ssh-ed25519" && algo === "ssh-ed25519") return cryptoVerify(null, cert.signed, pem, sig);
    if (caType === "ssh-rsa" && (algo === "rsa-sha2-256" || algo === "rsa-sha2-512")) {
      return cryptoVerify(algo === "rsa-sha2-256" ? "sha256" : "sha512", cert.signed, pem, sig);
    }
    const ec = /^ecdsa-sha2-nistp(256|384|521)$/.exec(caType);
    if (ec && algo === caType) {
      const bytes = ec[1] === "521" ? 66 : Number(ec[1]) / 8;
      const rs = new Reader(sig);
      const fix = (m: Buffer) => Buffer.concat([Buffer.alloc(bytes), m]).subarray(-bytes);
      sig = Buffer.concat([fix(rs.string()), fix(rs.string())]);
      const hash = ec[1] === "256" ? "sha256" : ec[1] === "384" ? "sha384" : "sha512";
      return cryptoVerify(hash, cert.signed, { key: pem, dsaEncoding: "ieee-p1363" }, sig);
    }
  } catch {
    /* a signature blob cut short: refused below */
  }
  return false;
}

/**
 * Accepts `key` for `name` when `cert` certifies it: a host certificate for exactly this key, signed by a
 * CA that an @cert-authority line names for this host (and that is not @revoked), listing `name` among its
 * principals, and valid now. Returns why not otherwise.
 */
export function checkHostCert(cert: HostCert, key: Buffer, entries: KnownHostsEntry[], host: string, port: number, now = Date.now()): { ok: true; ca: KnownHostsEntry } | { ok: false; why: string } {
  if (!cert.key.equals(key)) return { ok: false, why: "the certificate is for another key than the one the host presented" };
  if (cert.type !== 2) return { ok: false, why: "it is a user certificate, not a host certificate" };
  const name = knownHostsName(host, port);
  const ca = entries.find((e) => e.marker === "cert-authority" && e.key.equals(cert.caKey) && entryMatchesHost(e, name));
  if (!ca) return { ok: false, why: `its CA (${keyTypeOf(cert.caKey)} ${fingerprintSha256(cert.caKey)}) is not an @cert-authority for ${name}` };
  const revoked = entries.find((e) => e.marker === "revoked" && e.key.equals(cert.caKey));
  if (revoked) return { ok: false, why: `its CA is marked @revoked in ${revoked.source}:${revoked.line}` };
  if (!caSignatureValid(cert)) return { ok: false, why: "the CA signature does not verify" };
  const t = BigInt(Math.floor(now / 1000));
  if (t < cert.validAfter || t >= cert.validBefore) return { ok: false, why: `it is not valid now (valid ${stamp(cert.validAfter)} to ${stamp(cert.validBefore)})` };
  // No principals at all is refused too (OpenSSH does): nothing is included in an empty list.
  if (!cert.principals.includes(host.toLowerCase())) {
    return { ok: false, why: `${host} is not among its principals (${cert.principals.join(", ") || "none: OpenSSH refuses that too"})` };
  }
  if (cert.criticalOptions.length) return { ok: false, why: "it carries critical options (none are defined for host certificates)" };
  return { ok: true, ca };
}

function stamp(t: bigint): string {
  if (t >= 0xffffffffffffffffn) return "forever";
  return new Date(Number(t) * 1000).toISOString();
}

// Why: ssh2 cannot negotiate certificate host keys, so the host's certificates are fetched with OpenSSH's
// ssh-keyscan: that fetch need not be trusted, since a certificate is checked against the CA and the key
// the server proves it holds in our own handshake.
export function fetchHostCerts(host: string, port: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const child = spawn("ssh-keyscan", ["-c", "-T", String(KEYSCAN_TIMEOUT_S), "-p", String(port), "--", host], { stdio: ["ignore", "pipe", "pipe"], timeout: (KEYSCAN_TIMEOUT_S + 5) * 1000 });
    child.stdout.on("data", (d: Buffer) => (out.length < 256 * 1024 ? (out += d.toString("latin1")) : undefined));
    child.stderr.on("data", (d: Buffer) => (err.length < 4096 ? (err += d.toString("utf8")) : undefined));
    child.on("error", (e) => reject(new Error(`cannot run ssh-keyscan to fetch the host certificate (${e.message}); install the OpenSSH client`)));
    child.on("close", () => {
      // Lines are `[host] <type>-cert-v01@openssh.com <base64>` (OpenSSH 9 leaves the host out with -c).
      const certs = out
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .map((f) => f[f.findIndex((x) => x.endsWith("-cert-v01@openssh.com")) + 1])
        .filter((b): b is string => !!b && /^[A-Za-z0-9+/]+={0,2}$/.test(b))
        .map((b) => Buffer.from(b, "base64"));
      if (!certs.length && err.trim() && !/^#/.test(err.trim())) return reject(new Error(`ssh-keyscan: ${err.trim().split("\n").pop()}`));
      resolve(certs);
    });
  });
}
