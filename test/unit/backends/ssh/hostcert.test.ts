import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkHostCert, parseHostCert } from "../../../../src/backends/ssh/hostcert.js";
import { parseKnownHosts } from "../../../../src/backends/ssh/knownhosts.js";

const blob = (file: string) => Buffer.from(readFileSync(file, "utf8").trim().split(/\s+/)[1]!, "base64");
function run(args: string[]): void {
  const r = spawnSync("ssh-keygen", args, { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ssh-keygen ${args.join(" ")}: ${r.stderr}`);
}

describe("host certificates (checked against @cert-authority entries)", () => {
  let dir: string;
  const cert: Record<string, string> = {};
  let key: Buffer;
  const known = () => parseKnownHosts(`@cert-authority *.example.org,[127.0.0.1]:* ${readFileSync(join(dir, "ca.pub"), "utf8")}`, "kh").entries;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "herd-hostcert-"));
    for (const k of ["ca", "host", "rsaca"]) run(["-q", "-t", k === "rsaca" ? "rsa" : "ed25519", "-N", "", "-f", join(dir, k)]);
    key = blob(join(dir, "host.pub"));
    const sign = (name: string, ca: string, extra: string[]) => {
      run(["-q", "-s", join(dir, ca), "-I", name, ...extra, join(dir, "host.pub")]);
      cert[name] = readFileSync(join(dir, "host-cert.pub"), "utf8");
    };
    sign("good", "ca", ["-h", "-n", "web.example.org,127.0.0.1", "-V", "-5m:+1h"]);
    sign("expired", "ca", ["-h", "-n", "web.example.org", "-V", "20200101:20200102"]);
    sign("user", "ca", ["-n", "web.example.org", "-V", "-5m:+1h"]);
    sign("noprincipal", "ca", ["-h", "-V", "-5m:+1h"]);
    sign("otherca", "rsaca", ["-h", "-n", "web.example.org", "-V", "-5m:+1h"]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const check = (name: string, host = "web.example.org", port = 22, k = key) =>
    checkHostCert(parseHostCert(Buffer.from(cert[name]!.trim().split(/\s+/)[1]!, "base64")), k, known(), host, port);

  it("accepts a valid host certificate for a listed principal", () => {
    expect(check("good")).toMatchObject({ ok: true });
    expect(check("good", "127.0.0.1", 2222)).toMatchObject({ ok: true });
  });

  it.each([
    ["expired", "web.example.org", /not valid now/],
    ["user", "web.example.org", /user certificate/],
    ["noprincipal", "web.example.org", /not among its principals/],
    ["otherca", "web.example.org", /is not an @cert-authority/],
    ["good", "db.example.org", /not among its principals/],
    ["good", "web.example.com", /is not an @cert-authority for web\.example\.com/],
  ])("refuses %s for %s", (name, host, why) => {
    const r = check(name, host);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.why).toMatch(why);
  });

  it("refuses a certificate for another key, and a tampered signature", () => {
    expect(check("good", "web.example.org", 22, blob(join(dir, "ca.pub")))).toMatchObject({ ok: false, why: expect.stringMatching(/another key/) });
    const raw = Buffer.from(cert.good!.trim().split(/\s+/)[1]!, "base64");
    raw.writeUInt8(raw.readUInt8(raw.length - 5) ^ 1, raw.length - 5);
    const r = checkHostCert(parseHostCert(raw), key, known(), "web.example.org", 22);
    expect(r).toMatchObject({ ok: false, why: expect.stringMatching(/signature does not verify/) });
    expect(() => parseHostCert(raw.subarray(0, 40))).toThrow(/truncated/);
  });
});
