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
} from "../../../src/services/validate.js";

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
  it("refuses a name that is not a string, and quotes at most 80 characters of a long one", () => {
    refuses(() => validateName(123 as unknown as string), /service name "123" is not allowed/);
    refuses(() => validateName(undefined as unknown as string), /service name "undefined" is not allowed/);
    refuses(() => validateName("A".repeat(100)), new RegExp(`service name "${"A".repeat(80)}\\.\\.\\." is not allowed`));
    refuses(() => validateName("A".repeat(80)), new RegExp(`service name "${"A".repeat(80)}" is not allowed`));
    expect(new SpecError("x").name).toBe("SpecError");
  });
});

describe("validateSourceChoice", () => {
  it("names the one source given", () => {
    expect(validateSourceChoice({ npm: "x" })).toBe("npm");
    expect(validateSourceChoice({ command: "node", args: ["a"] })).toBe("command");
  });
  it("refuses none, naming every choice", () => refuses(() => validateSourceChoice({}), /no source given: set exactly one of path, git, npm, python, command, url/));
  it("refuses two, naming both", () =>
    refuses(() => validateSourceChoice({ path: "/x", npm: "y" }), /^several sources given \(path, npm\): set exactly one of path, git, npm, python, command, url$/));
  it("refuses three", () => refuses(() => validateSourceChoice({ git: "/x", url: "http://a", command: "c" }), /\(git, command, url\)/));
  it("refuses fields of another source", () => {
    refuses(() => validateSourceChoice({ npm: "x", ref: "main" }), /'ref' only applies to a 'git' source/);
    refuses(() => validateSourceChoice({ command: "x", headers: {} }), /'headers' only apply to a 'url' source/);
    refuses(() => validateSourceChoice({ url: "http://a", args: [] }), /'args' do not apply/);
    refuses(() => validateSourceChoice({ npm: "x", runtime: "node" }), /^'runtime' only applies to 'path' and 'git' sources, not to 'npm'$/);
    refuses(() => validateSourceChoice({ command: "x", headers: {} }), /^'headers' only apply to a 'url' source, not to 'command'$/);
  });
  it("accepts each source's own fields", () => {
    expect(validateSourceChoice({ url: "http://a", headers: { A: "b" } })).toBe("url");
    expect(validateSourceChoice({ path: "/x", runtime: "node" })).toBe("path");
    expect(validateSourceChoice({ git: "/x", runtime: "node", ref: "main" })).toBe("git");
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
    "file://localhost/tmp/repo",
    "ssh://user@host.example/repo",
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
    ["https://host/r$(id)", /shell metacharacters/],
    ["https://host/r;id", /shell metacharacters/],
    ["https://host/with space", /whitespace/],
    ["git@host:my repo", /whitespace/],
    ["ssh://%2DoProxyCommand=x/repo", /the host is missing or starts with '-'/],
    ["ssh://user@%2Dhost/repo", /the host is missing or starts with '-'/],
    ["ssh:///repo", /the host is missing/],
    ["git@host_x:repo", /the host is not a host name/],
    ["a/b@host:repo", /use https/],
    ["git@host:ssh://x", /use https/],
    ["https://host:99999/r", /it is not a valid URL/],
  ])("refuses git URL %j", (u, re) => refuses(() => validateGitUrl(u as string), re as RegExp));
});

describe("validateGitRef", () => {
  it.each(["main", "v1.2.3", "feature/x", "release-2024_01", "a".repeat(40), "0123456789abcdef0123456789abcdef01234567"])("accepts %j", (r) =>
    expect(() => validateGitRef(r)).not.toThrow(),
  );
  it.each([
    ["", "it is empty"],
    ["-x", "it starts with '-'"],
    ["--upload-pack=x", "it starts with '-'"],
    ["a..b", "it contains '..'"],
    ["..", "it contains '..'"],
    ["a b", "it contains a space or one of"],
    ["a\x01b", "it contains control characters"],
    ["a\tb", "it contains control characters"],
    ["a\nb", "it contains control characters"],
    ["a~1", "it contains a space or one of"],
    ["a^", "it contains a space or one of"],
    ["a:b", "it contains a space or one of"],
    ["a?", "it contains a space or one of"],
    ["a*", "it contains a space or one of"],
    ["a[", "it contains a space or one of"],
    ["a\\b", "it contains a space or one of"],
    ["@", "it contains '@{' or is '@'"],
    ["a@{1}", "it contains '@{' or is '@'"],
    ["/a", "it has an empty path component"],
    ["a/", "it has an empty path component"],
    ["a//b", "it has an empty path component"],
    ["a.", "it ends with '.'"],
    [".hidden", "a component starts with '.'"],
    ["x/.y", "a component starts with '.'"],
    ["x.lock", "a component ends with '.lock'"],
    ["x/y.lock/z", "a component ends with '.lock'"],
    ["x".repeat(256), "it is longer than 255 characters"],
  ])("refuses git ref %j", (r, why) => refuses(() => validateGitRef(r), new RegExp(`^git ref .* refused: ${why.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`)));
  it("accepts a ref of exactly 255 characters", () => expect(() => validateGitRef("x".repeat(255))).not.toThrow());
  it("knows a full commit id from a name", () => {
    expect(isCommitHash("0123456789abcdef0123456789abcdef01234567")).toBe(true);
    expect(isCommitHash("0123456")).toBe(false);
    expect(isCommitHash("main")).toBe(false);
    expect(isCommitHash("a")).toBe(false);
    expect(isCommitHash("0".repeat(41))).toBe(false);
    expect(isCommitHash("x" + "0".repeat(40))).toBe(false);
    expect(isCommitHash("0".repeat(64))).toBe(true);
    expect(isCommitHash("g".repeat(64))).toBe(false);
    expect(isCommitHash("0".repeat(63))).toBe(false);
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
  const NOT_NAME = "it is not a package name";
  const ALIAS = "URLs, git:, file: and npm: alias specs are not allowed";
  const RANGE = "the version range has characters";
  it.each([
    ["", "it is empty"],
    ["-g", "it starts with '-'"],
    ["--prefix=/", "it starts with '-'"],
    ["https://evil/x.tgz", ALIAS],
    ["http://x", ALIAS],
    ["git+https://github.com/a/b", ALIAS],
    ["github:a/b", ALIAS],
    ["a/b", NOT_NAME],
    ["file:../x", ALIAS],
    ["./x", NOT_NAME],
    ["../x", NOT_NAME],
    ["/abs/x", NOT_NAME],
    ["~/x", NOT_NAME],
    ["x.tgz", "tarball files are not allowed"],
    ["x.TAR.GZ", "tarball files are not allowed"],
    ["pkg@npm:other", ALIAS],
    ["alias@npm:evil", ALIAS],
    ["pkg;id", NOT_NAME],
    ["pkg && id", NOT_NAME],
    ["$(id)", NOT_NAME],
    ["`id`", NOT_NAME],
    ["pkg@1.0|id", RANGE],
    ["pkg@ 1", RANGE],
    ["pkg@", RANGE],
    ["pkg@-1", RANGE],
    ["pkg@1 ", RANGE],
    ["pkg\n", "it contains control characters"],
    ["@/x", NOT_NAME],
    ["@scope/", NOT_NAME],
    [".hidden", NOT_NAME],
    ["_private", NOT_NAME],
    ["a".repeat(215), NOT_NAME],
  ])("refuses npm spec %j", (spec, why) =>
    refuses(() => validateNpmSpec(spec), new RegExp(`^npm spec .* refused: ${why.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}.*; use name, name@range`)),
  );
  it("accepts a name of exactly 214 characters and names that only contain 'tar'", () => {
    expect(() => validateNpmSpec("a".repeat(214))).not.toThrow();
    expect(() => validateNpmSpec("x.tarball")).not.toThrow();
    expect(() => validateNpmSpec("x.tgz-tools")).not.toThrow();
  });
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
  const DIRECT = "URLs, paths, direct references and markers are not allowed";
  const PEP508 = "it is not a PEP 508 requirement";
  it.each([
    ["", "it is empty"],
    ["-r requirements.txt", "it starts with '-'"],
    ["--index-url=http://evil", "it starts with '-'"],
    ["https://evil/pkg.whl", DIRECT],
    ["pkg @ https://evil/pkg.whl", DIRECT],
    ["./pkg", DIRECT],
    ["/abs/pkg", DIRECT],
    ["pkg; python_version<'3'", DIRECT],
    ["pkg && id", PEP508],
    ["$(id)", PEP508],
    ["pkg==1 id", PEP508],
    ["git+https://x/y", DIRECT],
    ["C:\\pkg", DIRECT],
    ["pkg\n", "it contains control characters"],
    ["-e .", "it starts with '-'"],
    ["pkg[", PEP508],
    ["a".repeat(301), "it is longer than 300 characters"],
  ])("refuses python spec %j", (spec, why) =>
    refuses(() => validatePythonSpec(spec), new RegExp(`^python spec .* refused: ${why.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}; use a package name`)),
  );
  it("accepts a spec of exactly 300 characters", () => expect(() => validatePythonSpec("a".repeat(300))).not.toThrow());
  it("splits name, extras and version", () => {
    expect(parsePythonSpec("pkg[cli]>=1")).toMatchObject({ name: "pkg", extras: "[cli]", version: ">=1" });
    expect(parsePythonSpec("  pkg>=1 ")).toMatchObject({ name: "pkg", version: ">=1" });
    refuses(() => parsePythonSpec("$(id)"), /python spec "\$\(id\)" is not a requirement/);
  });
});

describe("validateUrl", () => {
  it.each(["http://127.0.0.1:8090/mcp", "https://example.com/mcp"])("accepts %j", (u) => expect(() => validateUrl(u, { Authorization: "Bearer x" })).not.toThrow());
  it.each([
    ["ftp://x/mcp", /only http/],
    ["file:///etc/passwd", /only http/],
    ["https://user:pw@host/mcp", /credentials/],
    ["https://user@host/mcp", /credentials/],
    ["not a url", /it contains control characters or whitespace/],
    ["http://h/a b", /it contains control characters or whitespace/],
    ["http//x", /it is not a valid URL/],
    ["http://host/\r\nX: y", /control/],
  ])("refuses service URL %j", (u, re) => refuses(() => validateUrl(u as string), re as RegExp));
  it("never repeats the credentials it refuses", () => {
    const e = (() => {
      try {
        validateUrl("https://user:pw-secret@host.example/mcp");
      } catch (err) {
        return err as Error;
      }
    })();
    expect(e?.message).toBe('url "https://***@host.example/mcp" refused: credentials in the URL are not allowed: pass them in \'headers\' (e.g. Authorization)');
  });
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
    refuses(() => validateSpec("s", { command: "x", cwd: "rel" }), /^cwd "rel" must be an absolute path$/);
    refuses(() => validateSpec("s", { command: "x", cwd: "/a\0b" }), /^cwd .* must be an absolute path$/);
    refuses(() => validateSpec("s", { path: "/a\0b" }), /must be an absolute path to a folder/);
    refuses(() => validateSpec("s", { npm: "pkg", args: ["ok", "a\0b"] }), /^args\[1\] contains a NUL byte$/);
  });
  it("accepts the optional fields left out or well formed", () => {
    expect(validateSpec("s", { command: "x", cwd: "/tmp" })).toBe("command");
    expect(validateSpec("s", { git: "/srv/r.git" })).toBe("git");
    expect(validateSpec("s", { path: "/srv/app" })).toBe("path");
  });
  it("returns the kind for a good spec", () => expect(validateSpec("s", { git: "https://h/r", ref: "v1" })).toBe("git"));
});
