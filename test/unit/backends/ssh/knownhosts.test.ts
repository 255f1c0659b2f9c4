import { describe, expect, it } from "vitest";
import {
  checkHostKey,
  describeRefusal,
  entryMatchesHost,
  fingerprintSha256,
  keyTypeOf,
  knownHostsLine,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
} from "../../../../src/backends/ssh/knownhosts.js";

// A real ed25519 key and two of its entries hashed by `ssh-keygen -H` (OpenSSH 9.2).
const REAL_B64 = "AAAAC3NzaC1lZDI1NTE5AAAAICncn41B/mFIfERFlSWQztq/aaKby8UrO74aT67w/jVI";
const REAL = Buffer.from(REAL_B64, "base64");
const REAL_FP = "SHA256:iixudoIcdCHsonhA8C2+HUG1QVy8QtCGxRmnXauHWlo";
const HASHED_EXAMPLE_COM_2222 = "|1|pHDy+tc+6gGhBXrevfuUo/zVEto=|JGDuypOQB/FcV6b+LUfk69Hj2sw=";
const HASHED_EXAMPLE_ORG = "|1|ONPH/KxTF0f8M0jFtzbYAoQf6FI=|TKUbz1Ws2l+1TtlsTfLPeFx4uX4=";

function blob(type: string, fill: number): Buffer {
  const t = Buffer.from(type);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(t.length);
  const body = Buffer.alloc(36, fill);
  body.writeUInt32BE(32, 0);
  return Buffer.concat([head, t, body]);
}
const OTHER = blob("ssh-ed25519", 7);
const ECDSA = blob("ecdsa-sha2-nistp256", 9);
const line = (hosts: string, key: Buffer, marker = "") =>
  `${marker ? marker + " " : ""}${hosts} ${keyTypeOf(key)} ${key.toString("base64")}`;

function check(text: string, host: string, port: number, key: Buffer) {
  return checkHostKey(parseKnownHosts(text, "kh").entries, host, port, key);
}

describe("knownHostsName", () => {
  it.each([
    ["example.com", 22, "example.com"],
    ["Example.COM", 22, "example.com"],
    ["127.0.0.1", 2222, "[127.0.0.1]:2222"],
    ["::1", 22, "::1"],
    ["::1", 2200, "[::1]:2200"],
  ])("%s port %d -> %s", (h, p, want) => expect(knownHostsName(h, p)).toBe(want));
});

describe("checkHostKey", () => {
  const table: [string, string, string, number, Buffer, string][] = [
    ["plain entry", line("example.com", REAL), "example.com", 22, REAL, "match"],
    ["case-insensitive host", line("EXAMPLE.com", REAL), "example.COM", 22, REAL, "match"],
    ["comma list", line("a.example,example.com,10.0.0.1", REAL), "10.0.0.1", 22, REAL, "match"],
    ["bracketed port", line("[example.com]:2222", REAL), "example.com", 2222, REAL, "match"],
    ["plain entry does not cover another port", line("example.com", REAL), "example.com", 2222, REAL, "unknown"],
    ["bracketed port does not cover 22", line("[example.com]:2222", REAL), "example.com", 22, REAL, "unknown"],
    ["other port is another host", line("[example.com]:2223", REAL), "example.com", 2222, REAL, "unknown"],
    ["hashed with port", `${HASHED_EXAMPLE_COM_2222} ssh-ed25519 ${REAL_B64}`, "example.com", 2222, REAL, "match"],
    ["hashed plain", `${HASHED_EXAMPLE_ORG} ssh-ed25519 ${REAL_B64}`, "example.org", 22, REAL, "match"],
    ["hashed for another host", `${HASHED_EXAMPLE_ORG} ssh-ed25519 ${REAL_B64}`, "example.com", 22, REAL, "unknown"],
    ["hashed, key changed", `${HASHED_EXAMPLE_ORG} ssh-ed25519 ${REAL_B64}`, "example.org", 22, OTHER, "mismatch"],
    ["changed key", line("example.com", REAL), "example.com", 22, OTHER, "mismatch"],
    ["key of another type known", line("example.com", REAL), "example.com", 22, ECDSA, "mismatch"],
    ["one of two keys matches", line("example.com", REAL) + "\n" + line("example.com", ECDSA), "example.com", 22, ECDSA, "match"],
    ["wildcard", line("*.example.com", REAL), "db.example.com", 22, REAL, "match"],
    ["wildcard does not match the apex", line("*.example.com", REAL), "example.com", 22, REAL, "unknown"],
    ["question mark", line("web?.example.com", REAL), "web1.example.com", 22, REAL, "match"],
    ["negation wins", line("*.example.com,!db.example.com", REAL), "db.example.com", 22, REAL, "unknown"],
    ["negation alone matches nothing", line("!db.example.com", REAL), "web.example.com", 22, REAL, "unknown"],
    ["prefix is not a match", line("example.com", REAL), "example.com.evil.net", 22, REAL, "unknown"],
    ["suffix is not a match", line("example.com", REAL), "myexample.com", 22, REAL, "unknown"],
    ["revoked key", line("*", REAL, "@revoked"), "example.com", 22, REAL, "revoked"],
    ["revoked beats a matching entry", line("example.com", REAL) + "\n" + line("*", REAL, "@revoked"), "example.com", 22, REAL, "revoked"],
    ["revoked other key is irrelevant", line("example.com", REAL) + "\n" + line("*", OTHER, "@revoked"), "example.com", 22, REAL, "match"],
    ["cert-authority does not vouch for a plain key", line("*.example.com", REAL, "@cert-authority"), "a.example.com", 22, REAL, "unknown"],
    ["comments and blank lines", `# example.com ssh-ed25519 ${REAL_B64}\n\n   \n`, "example.com", 22, REAL, "unknown"],
    ["CRLF and tabs", `example.com\tssh-ed25519\t${REAL_B64}\r\n`, "example.com", 22, REAL, "match"],
    ["bad lines do not hide good ones", `garbage\n@bogus x y z\n${line("example.com", REAL)}`, "example.com", 22, REAL, "match"],
    ["empty file", "", "example.com", 22, REAL, "unknown"],
  ];
  it.each(table)("%s", (_name, text, host, port, key, want) => {
    expect(check(text, host, port, key).status).toBe(want);
  });

  it("reports whether the changed key has the same type", () => {
    const r = check(line("h", REAL), "h", 22, ECDSA);
    expect(r).toMatchObject({ status: "mismatch", sameType: false });
  });

  it("notes when only @cert-authority entries matched", () => {
    const r = check(line("*", REAL, "@cert-authority"), "h", 22, REAL);
    expect(r).toEqual({ status: "unknown", certAuthorityOnly: true });
  });
});

describe("parseKnownHosts", () => {
  it("reports bad lines with file and line number and keeps the rest", () => {
    const text = [
      "not-a-line",
      "@weird host ssh-ed25519 " + REAL_B64,
      `host ssh-rsa ${REAL_B64}`,
      `host ssh-ed25519 not*base64`,
      "|2|abc|def ssh-ed25519 " + REAL_B64,
      line("good", REAL),
    ].join("\n");
    const { entries, errors } = parseKnownHosts(text, "/k/known_hosts");
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ line: 6, source: "/k/known_hosts" });
    expect(errors).toHaveLength(5);
    expect(errors[0]).toMatch(/^\/k\/known_hosts:1: /);
    expect(errors[2]).toMatch(/:3: key type ssh-rsa does not match/);
  });
});

describe("messages and lines", () => {
  it("fingerprints like ssh-keygen -l", () => expect(fingerprintSha256(REAL)).toBe(REAL_FP));

  it("writes the line OpenSSH would append", () => {
    expect(knownHostsLine("127.0.0.1", 2222, REAL)).toBe(`[127.0.0.1]:2222 ssh-ed25519 ${REAL_B64}`);
    const again = parseKnownHosts(knownHostsLine("h.example", 22, REAL), "x").entries;
    expect(checkHostKey(again, "h.example", 22, REAL).status).toBe("match");
  });

  it("a changed key says MITM, both fingerprints, and how to fix it", () => {
    const r = check(line("[h]:2200", REAL), "h", 2200, OTHER);
    const msg = describeRefusal(r, "h", 2200, OTHER, ["kh"]);
    expect(msg).toMatch(/^host key for h:2200 changed/);
    expect(msg).toContain("man-in-the-middle");
    expect(msg).toContain(fingerprintSha256(OTHER));
    expect(msg).toContain(REAL_FP);
    expect(msg).toContain("ssh-keygen -R '[h]:2200' -f kh");
  });

  it("an unknown key names the files and the opt-in", () => {
    const msg = describeRefusal(check("", "h", 22, REAL), "h", 22, REAL, ["/a", "/b"]);
    expect(msg).toMatch(/^unknown host key for h:22 \(ssh-ed25519 SHA256:/);
    expect(msg).toContain("/a, /b");
    expect(msg).toContain("set acceptNewHostKey to trust it");
  });

  it("lists the key types known for a host", () => {
    const entries = parseKnownHosts([line("h", REAL), line("h", ECDSA), line("other", OTHER)].join("\n"), "x").entries;
    expect(knownKeyTypes(entries, "h", 22)).toEqual(["ssh-ed25519", "ecdsa-sha2-nistp256"]);
    expect(entryMatchesHost(entries[2]!, "h")).toBe(false);
  });

  it("keyTypeOf refuses truncated blobs", () => {
    expect(keyTypeOf(Buffer.alloc(2))).toBe("");
    expect(keyTypeOf(Buffer.from([0, 0, 0, 200, 1, 2]))).toBe("");
  });
});
