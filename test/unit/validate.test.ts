import { describe, expect, it } from "vitest";
import {
  isCommitHash,
  parseNpmSpec,
  parsePythonSpec,
  SpecError,
  validateCommand,
  validateEnv,
  validateGitRef,
  validateGitUrl,
  validateName,
  validateNpmSpec,
  validatePythonSpec,
  validateSourceChoice,
  validateSpec,
  validateUrl,
} from "../../src/services/validate.js";

const refuses = (fn: () => void, re: RegExp) => {
  expect(fn).toThrow(SpecError);
  expect(fn).toThrow(re);
};

describe("validateName", () => {
  it.each(["a", "0", "my-server", "my_server", "a".repeat(63), "x9-_"])("accepts %j", (n) => {
    expect(() => validateName(n)).not.toThrow();
  });
  it.each([
    "../x",
    "a b",
    "a".repeat(64),
    "a".repeat(70),
    "..",
    ".",
    "",
    "a\0b",
    "-rf",
    "_x",
    "$(id)",
    "A",
    "My",
    "a/b",
    "a\nb",
    "\u0430bc", // Cyrillic a
    "ﬁle", // ligature
    "ａｂｃ", // full-width
  ])("refuses service name %j", (n) => refuses(() => validateName(n), /service name .* is not allowed/));
});

describe("validateSourceChoice", () => {
  it("names the one source given", () => {
    expect(validateSourceChoice({ npm: "x" })).toBe("npm");
    expect(validateSourceChoice({ command: "node", args: ["a"] })).toBe("command");
  });
  it("refuses none, naming every choice", () => refuses(() => validateSourceChoice({}), /no source given: set exactly one of path, git, npm, python, command, url/));
  it("refuses two, naming both", () => refuses(() => validateSourceChoice({ path: "/x", npm: "y" }), /several sources given \(path, npm\)/));
  it("refuses three", () => refuses(() => validateSourceChoice({ git: "/x", url: "http://a", command: "c" }), /\(git, command, url\)/));
  it("refuses fields of another source", () => {
    refuses(() => validateSourceChoice({ npm: "x", ref: "main" }), /'ref' only applies to a 'git' source/);
    refuses(() => validateSourceChoice({ command: "x", headers: {} }), /'headers' only apply to a 'url' source/);
    refuses(() => validateSourceChoice({ url: "http://a", args: [] }), /'args' do not apply/);
    refuses(() => validateSourceChoice({ npm: "x", runtime: "node" }), /'runtime' only applies/);
  });
});

describe("validateGitUrl", () => {
  it.each([
    "https://github.com/owner/repo.git",
    "http://127.0.0.1:8080/r.git",
    "ssh://git@github.com/owner/repo",
    "ssh://git@host:2222/~/repo",
    "git://host/repo",
    "file:///tmp/repo",
    "git@github.com:owner/repo.git",
    "host.example:repo",
    "/srv/git/repo.git",
    "/tmp/with space/repo",
  ])("accepts %j", (u) => expect(() => validateGitUrl(u)).not.toThrow());
  it.each([
    ["", /empty/],
    ["--upload-pack=touch /tmp/x", /starts with '-'/],
    ["-u", /starts with '-'/],
    ["ext::sh -c touch% /tmp/x", /remote helpers/],
    ["fd::0", /remote helpers/],
    ["foo::bar", /remote helpers/],
    ["https://host/repo::x", /remote helpers/],
    ["ssh://-oProxyCommand=touch%20/tmp/x/repo", /host/],
    ["ssh://-oProxyCommand=x@host/repo", /user name/],
    ["git://-host/repo", /host/],
    ["-oProxyCommand=x:repo", /starts with '-'/],
    ["user@-host:repo", /host/],
    ["-user@host:repo", /starts with '-'/],
    ["host:-path", /path starts with '-'/],
    ["https://host/re\npo", /control/],
    ["https://host/repo\0", /control/],
    ["https://user:secret@host/repo", /password/],
    ["ftp://host/repo", /scheme 'ftp'/],
    ["javascript://x", /scheme/],
    ["file://otherhost/repo", /local path/],
    ["relative/path", /use https/],
    ["./repo", /use https/],
    ["../repo", /use https/],
    ["repo", /use https/],
  ])("refuses git URL %j", (u, re) => refuses(() => validateGitUrl(u as string), re as RegExp));
});

describe("validateGitRef", () => {
  it.each(["main", "v1.2.3", "feature/x", "release-2024_01", "a".repeat(40), "0123456789abcdef0123456789abcdef01234567"])("accepts %j", (r) =>
    expect(() => validateGitRef(r)).not.toThrow(),
  );
  it.each([
    "",
    "-x",
    "--upload-pack=x",
    "a..b",
    "..",
    "a b",
    "a\tb",
    "a\nb",
    "a~1",
    "a^",
    "a:b",
    "a?",
    "a*",
    "a[",
    "a\\b",
    "@",
    "a@{1}",
    "/a",
    "a/",
    "a//b",
    "a.",
    ".hidden",
    "x/.y",
    "x.lock",
    "x".repeat(256),
  ])("refuses git ref %j", (r) => refuses(() => validateGitRef(r), /git ref .* refused/));
  it("knows a full commit id from a name", () => {
    expect(isCommitHash("0123456789abcdef0123456789abcdef01234567")).toBe(true);
    expect(isCommitHash("0123456")).toBe(false);
    expect(isCommitHash("main")).toBe(false);
  });
});

describe("validateNpmSpec", () => {
  it.each([
    "server-everything",
    "@modelcontextprotocol/server-everything",
    "@modelcontextprotocol/server-everything@2026.8.31",
    "pkg@^1.2.3",
    "pkg@>=1.0.0 <2",
    "pkg@1 || 2",
    "pkg@latest",
    "pkg@next",
    "JSONStream",
    "lodash.merge@4.x",
  ])("accepts %j", (s) => expect(() => validateNpmSpec(s)).not.toThrow());
  it.each([
    "",
    "-g",
    "--prefix=/",
    "https://evil/x.tgz",
    "http://x",
    "git+https://github.com/a/b",
    "github:a/b",
    "a/b",
    "file:../x",
    "./x",
    "../x",
    "/abs/x",
    "~/x",
    "x.tgz",
    "pkg@npm:other",
    "alias@npm:evil",
    "pkg;id",
    "pkg && id",
    "$(id)",
    "`id`",
    "pkg@1.0|id",
    "pkg@ 1",
    "pkg@",
    "pkg@-1",
    "pkg\n",
    "@/x",
    "@scope/",
    ".hidden",
    "_private",
  ])("refuses npm spec %j", (s) => refuses(() => validateNpmSpec(s), /npm spec .* refused/));
  it("splits name and range", () => {
    expect(parseNpmSpec("@a/b@1.2")).toEqual({ name: "@a/b", range: "1.2" });
    expect(parseNpmSpec("b")).toEqual({ name: "b" });
  });
});

describe("validatePythonSpec", () => {
  it.each(["mcp-server-time", "mcp_server_fetch", "pkg==1.2.3", "pkg>=1,<2", "pkg[cli]", "pkg[cli, extra]>=1.0", "a", "Pkg.Name~=2.1"])(
    "accepts %j",
    (s) => expect(() => validatePythonSpec(s)).not.toThrow(),
  );
  it.each([
    "",
    "-r requirements.txt",
    "--index-url=http://evil",
    "https://evil/pkg.whl",
    "pkg @ https://evil/pkg.whl",
    "./pkg",
    "/abs/pkg",
    "pkg; python_version<'3'",
    "pkg && id",
    "$(id)",
    "pkg==1 id",
    "git+https://x/y",
    "C:\\pkg",
    "pkg\n",
    "-e .",
    "pkg[",
  ])("refuses python spec %j", (s) => refuses(() => validatePythonSpec(s), /python spec .* refused/));
  it("splits name, extras and version", () => {
    expect(parsePythonSpec("pkg[cli]>=1")).toMatchObject({ name: "pkg", extras: "[cli]", version: ">=1" });
  });
});

describe("validateUrl", () => {
  it.each(["http://127.0.0.1:8090/mcp", "https://example.com/mcp"])("accepts %j", (u) => expect(() => validateUrl(u, { Authorization: "Bearer x" })).not.toThrow());
  it.each([
    ["ftp://x/mcp", /only http/],
    ["file:///etc/passwd", /only http/],
    ["https://user:pw@host/mcp", /credentials/],
    ["https://user@host/mcp", /credentials/],
    ["not a url", /whitespace|valid URL/],
    ["http://host/\r\nX: y", /control/],
  ])("refuses service URL %j", (u, re) => refuses(() => validateUrl(u as string), re as RegExp));
  it("refuses header values that split a request", () => {
    refuses(() => validateUrl("https://h/mcp", { "X-A": "v\r\nInjected: 1" }), /CR, LF or NUL/);
    refuses(() => validateUrl("https://h/mcp", { "X-A": "v\n" }), /CR, LF or NUL/);
    refuses(() => validateUrl("https://h/mcp", { "Bad Name": "v" }), /header name/);
  });
});

describe("validateCommand and validateEnv", () => {
  it("accepts a Claude Desktop style entry", () => expect(() => validateCommand("npx", ["-y", "pkg"])).not.toThrow());
  it.each([["", []], ["  ", []], ["a\0b", []], ["node", ["ok", "x\0y"]]])("refuses %j %j", (c, a) =>
    refuses(() => validateCommand(c as string, a as string[]), /empty|NUL/),
  );
  it("refuses bad env names and NUL values", () => {
    refuses(() => validateEnv({ "A=B": "1" }), /env name/);
    refuses(() => validateEnv({ "": "1" }), /env name/);
    refuses(() => validateEnv({ A: "x\0" }), /NUL/);
    expect(() => validateEnv({ API_KEY: "x y=z" })).not.toThrow();
  });
});

describe("validateSpec", () => {
  it("checks the name before the source", () => refuses(() => validateSpec("../x", { npm: "ok" }), /service name/));
  it("checks every source's own rule", () => {
    refuses(() => validateSpec("s", { path: "relative/dir" }), /absolute path/);
    refuses(() => validateSpec("s", { git: "/r", ref: "-x" }), /git ref/);
    refuses(() => validateSpec("s", { npm: "file:x" }), /npm spec/);
    refuses(() => validateSpec("s", { python: "./x" }), /python spec/);
    refuses(() => validateSpec("s", { command: "" }), /empty/);
    refuses(() => validateSpec("s", { url: "ftp://x" }), /only http/);
    refuses(() => validateSpec("s", { command: "x", cwd: "rel" }), /cwd/);
  });
  it("returns the kind for a good spec", () => expect(validateSpec("s", { git: "https://h/r", ref: "v1" })).toBe("git"));
});
