import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkHostKey,
  describeRefusal,
  entryMatchesHost,
  fingerprintSha256,
  keyTypeOf,
  knownKeyTypes,
  matchPattern,
  parseKnownHosts,
} from "../../../../src/backends/ssh/knownhosts.js";

// The edges of known_hosts parsing and matching, with keys made by ssh-keygen (the cases mutation testing found untested).
let dir: string;
const pub: Record<string, { b64: string; key: Buffer; type: string }> = {};
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "herd-kh-"));
  for (const [name, type] of [["ed", "ed25519"], ["ed2", "ed25519"], ["ec", "ecdsa"], ["rsa", "rsa"]] as const) {
    const r = spawnSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-f", join(dir, name)], { encoding: "utf8", timeout: 20_000 });
    if (r.status !== 0) throw new Error(`ssh-keygen -t ${type}: ${r.stderr}`);
    const [t, b64] = readFileSync(join(dir, `${name}.pub`), "utf8").trim().split(/\s+/);
    pub[name] = { b64: b64!, key: Buffer.from(b64!, "base64"), type: t! };
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const line = (hosts: string, name: string, marker = "") => `${marker ? marker + " " : ""}${hosts} ${pub[name]!.type} ${pub[name]!.b64}`;
const parse = (text: string) => parseKnownHosts(text, "kh");
const check = (text: string, host: string, name: string, port = 22) => checkHostKey(parse(text).entries, host, port, pub[name]!.key);

describe("parseKnownHosts edges", () => {
  it("skips comments and blank lines without an error, and reads fields split by runs of blanks", () => {
    const { entries, errors } = parse(`# h ${pub.ed!.type} ${pub.ed!.b64}\n#\n\n   \n\th  ${pub.ed!.type} \t ${pub.ed!.b64}  \n`);
    expect(errors).toEqual([]);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toStrictEqual({ keyType: pub.ed!.type, key: pub.ed!.key, source: "kh", line: 5, patterns: ["h"] });
  });

  it("an empty pattern between commas matches nothing, not even an empty name", () => {
    const [entry] = parse(line("a,,b,", "ed")).entries;
    expect(entry!.patterns).toEqual(["a", "b"]);
    expect(entryMatchesHost(entry!, "")).toBe(false);
    expect(entryMatchesHost(entry!, "b")).toBe(true);
  });

  it("names each bad line with its number and why", () => {
    const [hashed] = parse(`|1|AAAA|BBBB ${pub.ed!.type} ${pub.ed!.b64}`).entries;
    expect(hashed!.hashed).toBeDefined();
    const bad = [
      "@weird h ssh-ed25519 " + pub.ed!.b64,
      "lonely-host",
      `h ${pub.ed!.type}`,
      "@revoked",
      `h ${pub.ed!.type} ${pub.ed!.b64}*`,
      `h ${pub.ed!.type} *${pub.ed!.b64}`,
      `|2||1|AAAA|BBBB ${pub.ed!.type} ${pub.ed!.b64}`,
      `|1|AAAA|BBBB|x ${pub.ed!.type} ${pub.ed!.b64}`,
      `h ${pub.ec!.type} ${pub.ed!.b64}`,
    ];
    const { entries, errors } = parse(bad.join("\n"));
    expect(entries).toEqual([]);
    expect(errors).toEqual([
      "kh:1: unknown marker @weird",
      "kh:2: not a known_hosts entry",
      "kh:3: not a known_hosts entry",
      "kh:4: not a known_hosts entry",
      "kh:5: not a known_hosts entry",
      "kh:6: not a known_hosts entry",
      "kh:7: unsupported hashed host field",
      "kh:8: unsupported hashed host field",
      `kh:9: key type ${pub.ec!.type} does not match the key data`,
    ]);
  });

  it("a hashed entry whose hash is not 20 bytes matches nothing and does not throw", () => {
    const [short] = parse(`|1|AAAA|AAAA ${pub.ed!.type} ${pub.ed!.b64}`).entries;
    expect(entryMatchesHost(short!, "h")).toBe(false);
  });
});

describe("checkHostKey edges", () => {
  it("a changed key lists only the known keys of its type, and says sameType", () => {
    const r = check([line("h", "ed"), line("h", "ec")].join("\n"), "h", "ed2");
    expect(r.status).toBe("mismatch");
    expect(r.status === "mismatch" && r.sameType).toBe(true);
    expect(r.status === "mismatch" && r.known.map((e) => e.keyType)).toEqual([pub.ed!.type]);
  });

  it("a key of a type not known for the host lists all its keys, sameType false", () => {
    const r = check([line("h", "ed"), line("h", "rsa"), line("other", "ec")].join("\n"), "h", "ec");
    expect(r).toMatchObject({ status: "mismatch", sameType: false });
    expect(r.status === "mismatch" && r.known.map((e) => e.keyType)).toEqual([pub.ed!.type, pub.rsa!.type]);
  });

  it("certAuthorityOnly is set only when a @cert-authority entry matched", () => {
    expect(check("", "h", "ed")).toEqual({ status: "unknown", certAuthorityOnly: false });
    expect(check(line("*", "ed2", "@revoked"), "h", "ed")).toEqual({ status: "unknown", certAuthorityOnly: false });
    expect(check([line("*", "ed2", "@revoked"), line("*", "ec", "@cert-authority")].join("\n"), "h", "ed")).toEqual({ status: "unknown", certAuthorityOnly: true });
  });

  it("knownKeyTypes lists the plain entries of this host only", () => {
    const entries = parse([line("h", "ed"), line("h", "ec", "@cert-authority"), line("h", "rsa", "@revoked"), line("other", "rsa"), line("h", "ed2")].join("\n")).entries;
    expect(knownKeyTypes(entries, "h", 22)).toEqual([pub.ed!.type]);
    expect(knownKeyTypes(entries, "nobody", 22)).toEqual([]);
  });
});

describe("describeRefusal, every case", () => {
  const say = (text: string, host: string, name: string, files = ["kh"]) => describeRefusal(check(text, host, name), host, 22, pub[name]!.key, files);

  it("match and revoked name the line", () => {
    expect(say(`\n${line("h", "ed")}`, "h", "ed")).toBe("host key for h:22 matches kh:2");
    expect(say(line("*", "ed", "@revoked"), "h", "ed")).toBe(`host key for h:22 (${pub.ed!.type} ${fingerprintSha256(pub.ed!.key)}) is marked @revoked in kh:1: connection refused`);
  });

  it("a changed type says so and lists every known key", () => {
    const msg = say([line("h", "ed"), line("h", "rsa")].join("\n"), "h", "ec");
    expect(msg).toContain("host key for h:22 changed type: the host presents");
    expect(msg).toContain(`known_hosts has ${pub.ed!.type} ${fingerprintSha256(pub.ed!.key)} (kh:1), ${pub.rsa!.type} ${fingerprintSha256(pub.rsa!.key)} (kh:2). `);
  });

  it("an unknown key without files, and one with only @cert-authority entries, say so", () => {
    const none = say("", "h", "ed", []);
    expect(none).toContain("not in any known_hosts file (set acceptNewHostKey");
    expect(none).not.toContain("@cert-authority");
    const ca = say(line("*", "ec", "@cert-authority"), "h", "ed");
    expect(ca).toContain("not in kh (only @cert-authority entries match, and the host's certificate was not accepted) (set acceptNewHostKey");
  });
});

describe("keyTypeOf and the pattern matcher", () => {
  const blob = (len: number, body: string) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(len);
    return Buffer.concat([b, Buffer.from(body, "latin1")]);
  };

  it("reads the type of an exact or longer blob, refuses a truncated one or a type over 64 bytes", () => {
    expect(keyTypeOf(blob(2, "ab"))).toBe("ab");
    expect(keyTypeOf(blob(2, "abXYZ"))).toBe("ab");
    expect(keyTypeOf(blob(10, "ab"))).toBe("");
    expect(keyTypeOf(blob(64, "t".repeat(64)))).toBe("t".repeat(64));
    expect(keyTypeOf(blob(65, "t".repeat(65)))).toBe("");
    expect(keyTypeOf(blob(0, ""))).toBe("");
  });

  it.each([
    ["*example.com", "example.com", true],
    ["web*", "web", true],
    ["web**", "web", true],
    ["a*b*c", "axxbyyc", true],
    ["a*b*c", "axxbyy", false],
    ["a?c", "ac", false],
    ["*", "", true],
    ["", "", true],
    ["", "x", false],
  ])("pattern %j on %j is %s", (p, s, want) => expect(matchPattern(s, p)).toBe(want));
});
