import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { caSignatureValid, checkHostCert, fetchHostCerts, parseHostCert } from "../../../../src/backends/ssh/hostcert.js";
import { parseKnownHosts } from "../../../../src/backends/ssh/knownhosts.js";
import { startSshd } from "../../../helpers/sshd.js";

// Every key and CA type OpenSSH signs host certificates with, made by ssh-keygen; hostile and boundary cases by editing
// the real blobs; fetchHostCerts against a real sshd serving a certificate.
let dir: string;
const KEYS = { ed: ["ed25519"], ec256: ["ecdsa", "-b", "256"], ec384: ["ecdsa", "-b", "384"], ec521: ["ecdsa", "-b", "521"], rsa: ["rsa", "-b", "2048"] } as const;
type Kind = keyof typeof KEYS;

function keygen(args: string[]): void {
  const r = spawnSync("ssh-keygen", args, { encoding: "utf8", timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) throw new Error(`ssh-keygen ${args.join(" ")}: ${r.stderr}`);
}
const blobOf = (file: string) => Buffer.from(readFileSync(file, "utf8").trim().split(/\s+/)[1]!, "base64");
const pubLine = (file: string) => readFileSync(file, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");

/** Signs host key `host` with CA `ca`; returns the certificate blob. */
function sign(host: Kind, ca: Kind, extra: string[] = [], name = `${host}-by-${ca}`): Buffer {
  keygen(["-q", "-s", join(dir, `ca-${ca}`), "-I", name, "-h", "-n", "web.example.org,127.0.0.1", "-V", "-5m:+1h", ...extra, join(dir, `host-${host}.pub`)]);
  return blobOf(join(dir, `host-${host}-cert.pub`));
}
const known = (ca: Kind, more = "") => parseKnownHosts(`@cert-authority *.example.org,[127.0.0.1]:* ${pubLine(join(dir, `ca-${ca}.pub`))}\n${more}`, "kh").entries;
const hostKey = (k: Kind) => blobOf(join(dir, `host-${k}.pub`));

/** The same blob with the last occurrence of `from` (the signature comes last) replaced by `to`: same length, so every offset stays. */
function replace(blob: Buffer, from: string, to: string): Buffer {
  expect(to.length).toBe(from.length);
  const i = blob.lastIndexOf(from, undefined, "latin1");
  expect(i).toBeGreaterThanOrEqual(0);
  const out = Buffer.from(blob);
  out.write(to, i, "latin1");
  return out;
}
/** Flips one bit inside the signature (the last bytes of the blob). */
function tamper(blob: Buffer): Buffer {
  const out = Buffer.from(blob);
  out[out.length - 6] = out[out.length - 6]! ^ 1;
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "herd-hostcert-kinds-"));
  for (const [k, t] of Object.entries(KEYS)) {
    keygen(["-q", "-t", ...t, "-N", "", "-f", join(dir, `ca-${k}`)]);
    keygen(["-q", "-t", ...t, "-N", "", "-f", join(dir, `host-${k}`)]);
  }
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("host certificates of every key type and CA type", () => {
  it.each(Object.keys(KEYS) as Kind[])("a %s host key certified by an ed25519 CA is accepted for exactly that key", (k) => {
    const cert = parseHostCert(sign(k, "ed"));
    expect(cert.key.equals(hostKey(k))).toBe(true);
    expect(cert.principals).toEqual(["web.example.org", "127.0.0.1"]);
    expect(checkHostCert(cert, hostKey(k), known("ed"), "web.example.org", 22)).toMatchObject({ ok: true });
  });

  it.each([
    ["ec256", []],
    ["ec384", []],
    ["ec521", []],
    ["rsa", ["-t", "rsa-sha2-256"]],
    ["rsa", ["-t", "rsa-sha2-512"]],
  ] as [Kind, string[]][])("a %s CA signature %j verifies, and fails once a bit of it is flipped", (ca, extra) => {
    const blob = sign("ed", ca, extra);
    expect(checkHostCert(parseHostCert(blob), hostKey("ed"), known(ca), "web.example.org", 22)).toMatchObject({ ok: true });
    expect(caSignatureValid(parseHostCert(tamper(blob)))).toBe(false);
  });

  it("a signature whose algorithm name does not fit the CA key is refused, even with valid signature bytes", () => {
    // Same-length renames, so the signed part is untouched: only the algorithm check can refuse them.
    expect(caSignatureValid(parseHostCert(replace(sign("ed", "ed"), "ssh-ed25519\0", "ssh-ed25518\0")))).toBe(false);
    expect(caSignatureValid(parseHostCert(replace(sign("ed", "ec256"), "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp257")))).toBe(false);
    // rsa-sha2-256 bytes under the name rsa-sha2-512 (and the other way round) do not verify with the other hash.
    const r256 = sign("ed", "rsa", ["-t", "rsa-sha2-256"]);
    expect(caSignatureValid(parseHostCert(replace(r256, "rsa-sha2-256", "rsa-sha2-512")))).toBe(false);
    const r512 = sign("ed", "rsa", ["-t", "rsa-sha2-512"]);
    expect(caSignatureValid(parseHostCert(replace(r512, "rsa-sha2-512", "rsa-sha2-256")))).toBe(false);
    // A signature blob cut short, and an ECDSA signature whose r and s are cut short, are refusals, not throws.
    const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    const ecCert = parseHostCert(sign("ed", "ec256"));
    expect(caSignatureValid({ ...ecCert, signature: str(Buffer.from("ecdsa-sha2-nistp256")) })).toBe(false);
    expect(caSignatureValid({ ...ecCert, signature: Buffer.concat([str(Buffer.from("ecdsa-sha2-nistp256")), str(Buffer.from([0, 0, 0, 9, 1]))]) })).toBe(false);
    // A CA key ssh2 cannot read is a refusal, not a throw.
    expect(caSignatureValid({ ...parseHostCert(r512), caKey: Buffer.from("\0\0\0\x07ssh-rsa\0\0\0\x01x", "latin1") })).toBe(false);
  });
});

describe("parseHostCert refuses what is not a whole certificate", () => {
  it("every truncation of a real certificate is 'truncated certificate', a trailing byte and an unknown type are named", () => {
    const blob = sign("ec256", "rsa");
    for (let n = 0; n < blob.length; n++) expect(() => parseHostCert(blob.subarray(0, n)), `first ${n} bytes`).toThrow(/^truncated certificate$/);
    expect(() => parseHostCert(Buffer.concat([blob, Buffer.from([0])]))).toThrow(/^trailing bytes after the certificate signature$/);
    expect(() => parseHostCert(replace(blob, "ecdsa-sha2-nistp256-cert", "ecdsa-sha2-nistp999-cert"))).toThrow(/^unsupported certificate type ecdsa-sha2-nistp999-cert-v01@openssh\.com$/);
  });
});

describe("checkHostCert refusals, each with its reason", () => {
  const check = (blob: Buffer, entries = known("ed"), host = "web.example.org", now?: number) => checkHostCert(parseHostCert(blob), hostKey("ed"), entries, host, 22, now);

  it("the CA key as a plain host key line is not an @cert-authority", () => {
    const plain = parseKnownHosts(`*.example.org ${pubLine(join(dir, "ca-ed.pub"))}`, "kh").entries;
    expect(check(sign("ed", "ed"), plain)).toMatchObject({ ok: false, why: expect.stringMatching(/is not an @cert-authority for web\.example\.org$/) });
  });

  it("a @revoked CA is refused, naming the line", () => {
    const entries = known("ed", `@revoked * ${pubLine(join(dir, "ca-ed.pub"))}`);
    expect(check(sign("ed", "ed"), entries)).toEqual({ ok: false, why: "its CA is marked @revoked in kh:2" });
    // A @revoked line for another key does not matter.
    expect(check(sign("ed", "ed"), known("ed", `@revoked * ${pubLine(join(dir, "ca-rsa.pub"))}`))).toMatchObject({ ok: true });
  });

  it("validity: from validAfter included to validBefore excluded, with the window in the reason", () => {
    const cert = parseHostCert(sign("ed", "ed"));
    const after = Number(cert.validAfter) * 1000;
    const before = Number(cert.validBefore) * 1000;
    const at = (now: number) => checkHostCert(cert, hostKey("ed"), known("ed"), "web.example.org", 22, now);
    expect(at(after)).toMatchObject({ ok: true });
    expect(at(before - 1000)).toMatchObject({ ok: true });
    const window = `(valid ${new Date(after).toISOString()} to ${new Date(before).toISOString()})`;
    expect(at(before)).toEqual({ ok: false, why: `it is not valid now ${window}` });
    expect(at(after - 1000)).toEqual({ ok: false, why: `it is not valid now ${window}` });
    const forever = parseHostCert(sign("ed", "ed", ["-V", "+1d:forever"]));
    const r = checkHostCert(forever, hostKey("ed"), known("ed"), "web.example.org", 22);
    expect(r).toEqual({ ok: false, why: `it is not valid now (valid ${new Date(Number(forever.validAfter) * 1000).toISOString()} to forever)` });
  });

  it("principals: the reason lists them, or says there are none", () => {
    expect(check(sign("ed", "ed"), known("ed"), "db.example.org")).toEqual({ ok: false, why: "db.example.org is not among its principals (web.example.org, 127.0.0.1)" });
    keygen(["-q", "-s", join(dir, "ca-ed"), "-I", "none", "-h", "-V", "-5m:+1h", join(dir, "host-ed.pub")]);
    const none = blobOf(join(dir, "host-ed-cert.pub"));
    expect(parseHostCert(none).principals).toEqual([]);
    expect(check(none)).toEqual({ ok: false, why: "web.example.org is not among its principals (none: OpenSSH refuses that too)" });
  });

  it("a host certificate with critical options is refused", () => {
    expect(check(sign("ed", "ed", ["-O", "critical:foo=bar"]))).toEqual({ ok: false, why: "it carries critical options (none are defined for host certificates)" });
  });
});

describe("fetchHostCerts (ssh-keyscan -c)", () => {
  let garbage: Server;
  beforeAll(async () => {
    // Answers every connection with an HTTP line and closes: ssh-keyscan says so on stderr.
    garbage = createServer((c) => c.end("HTTP/1.0 400 not ssh\r\n\r\n"));
    await new Promise<void>((r) => garbage.listen(0, "127.0.0.1", r));
  });
  afterAll(() => garbage.close());

  it("returns the certificate a real sshd serves, nothing from one without, and the error of a non-SSH server", async () => {
    const withCert = await startSshd({ hostCert: { caKey: join(dir, "ca-ed"), principals: ["127.0.0.1"] } });
    const plain = await startSshd();
    try {
      const certs = await fetchHostCerts("127.0.0.1", withCert.port);
      expect(certs).toHaveLength(1);
      expect(certs[0]!.equals(blobOf(join(withCert.dir, "host_ed25519-cert.pub")))).toBe(true);
      const cert = parseHostCert(certs[0]!);
      expect(checkHostCert(cert, cert.key, known("ed"), "127.0.0.1", withCert.port)).toMatchObject({ ok: true });
      expect(await fetchHostCerts("127.0.0.1", plain.port)).toEqual([]);
    } finally {
      await withCert.stop();
      await plain.stop();
    }
    await expect(fetchHostCerts("127.0.0.1", (garbage.address() as AddressInfo).port)).rejects.toThrow(/^ssh-keyscan: 127\.0\.0\.1: Connection closed by remote host$/);
  }, 60_000);

  it("a server that trickles its banner (ssh-keyscan's -T never fires) is cut off by the spawn timeout: no certificates", async () => {
    // One byte a second resets ssh-keyscan's own timeout for ever; only the spawn timeout (-T + 5 s) ends it, and it
    // leaves nothing on stderr, which is no certificate rather than an error.
    const socks = new Set<Socket>();
    const slow = createServer((c) => {
      socks.add(c);
      const t = setInterval(() => c.write("S"), 1000);
      c.on("close", () => clearInterval(t));
      c.on("error", () => {});
    });
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
    try {
      const t0 = Date.now();
      expect(await fetchHostCerts("127.0.0.1", (slow.address() as AddressInfo).port)).toEqual([]);
      // ~10 s expected; the bound only catches a hang.
      expect(Date.now() - t0).toBeLessThan(40_000);
    } finally {
      for (const c of socks) c.destroy();
      slow.close();
    }
  }, 60_000);

  it("says to install the OpenSSH client when ssh-keyscan is not on PATH", async () => {
    const path = process.env.PATH;
    process.env.PATH = dir;
    try {
      await expect(fetchHostCerts("127.0.0.1", 22)).rejects.toThrow(/^cannot run ssh-keyscan to fetch the host certificate \(.*ENOENT.*\); install the OpenSSH client$/);
    } finally {
      process.env.PATH = path;
    }
  });
});
