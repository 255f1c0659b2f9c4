import { describe, expect, it } from "vitest";
import {
  BinaryFileError,
  cutUtf8,
  decodeText,
  ensureMarked,
  encodeText,
  findAll,
  lineNumbersAt,
  modeString,
  OutputCollector,
  resolveHostPath,
} from "../../../../src/backends/host-files.js";
import { unifiedDiff } from "../../../../src/hosts/toolset/diff.js";

describe("cutUtf8", () => {
  const s = Buffer.from("aé€😀", "utf8"); // 1 + 2 + 3 + 4 bytes
  it.each([
    [0, ""],
    [1, "a"],
    [2, "a"],
    [3, "aé"],
    [4, "aé"],
    [5, "aé"],
    [6, "aé€"],
    [9, "aé€"],
    [10, "aé€😀"],
    [99, "aé€😀"],
  ])("cut at %i bytes keeps %j", (max, want) => {
    expect(cutUtf8(s, max).toString("utf8")).toBe(want);
  });
});

describe("OutputCollector", () => {
  it("keeps everything under the bound and marks what it cut", () => {
    const c = new OutputCollector(5);
    c.push(Buffer.from("abc"));
    expect([c.text(), c.truncated]).toEqual(["abc", false]);
    c.push(Buffer.from("d€fg"));
    expect(c.truncated).toBe(true);
    expect(c.text()).toBe("abcd\n[... output truncated: kept the first 4 of 9 bytes ...]\n");
    expect(c.total).toBe(9);
  });
});

describe("decodeText / encodeText", () => {
  it.each([
    ["utf-8", false, "plain\n"],
    ["utf-8", true, "bom\r\nx\r\n"],
    ["utf-16le", true, "le ü\n"],
    ["utf-16be", true, "be ü\n"],
    ["utf-16le", false, "no bom le\n"],
    ["utf-16be", false, "no bom be\n"],
  ] as const)("round-trips %s (bom %s)", (encoding, bom, text) => {
    const bytes = encodeText(text, encoding, bom);
    const d = decodeText(bytes);
    expect(d).toMatchObject({ text, encoding, bom });
    expect(encodeText(d.text, d.encoding, d.bom).equals(bytes)).toBe(true);
  });

  it("detects CRLF only when every line ending is CRLF", () => {
    expect(decodeText(Buffer.from("a\r\nb\r\n")).eol).toBe("\r\n");
    expect(decodeText(Buffer.from("a\r\nb\n")).eol).toBe("\n");
  });

  it.each([
    ["NUL bytes", Buffer.from([0x41, 0x00, 0x42, 0x43, 0x00, 0x00, 0x01])],
    ["invalid UTF-8", Buffer.from([0x41, 0xc3, 0x28, 0x41])],
    ["PNG header", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d])],
  ])("refuses %s as binary", (_what, buf) => {
    expect(() => decodeText(buf)).toThrow(BinaryFileError);
  });

  it("drops the cut last line of a partial read, even inside a multibyte character", () => {
    const buf = Buffer.from("one\ntwo é\nthr€e");
    expect(decodeText(buf.subarray(0, buf.length - 3), true).text).toBe("one\ntwo é\n");
  });
});

describe("resolveHostPath", () => {
  it.each([
    [undefined, "/home/u"],
    ["", "/home/u"],
    ["~", "/home/u"],
    ["~/a b", "/home/u/a b"],
    ["rel/x", "/home/u/rel/x"],
    ["/abs/../etc", "/etc"],
    ["~other", "/home/u/~other"],
  ])("%j -> %s", (p, want) => {
    expect(resolveHostPath(p, "/home/u")).toBe(want);
  });
});

describe("match helpers", () => {
  it("finds non-overlapping literal matches and their lines", () => {
    expect(findAll("aaaa", "aa")).toEqual([0, 2]);
    expect(findAll("a.c abc", ".")).toEqual([1]);
    expect(lineNumbersAt("x\ny\nx\n\nx", findAll("x\ny\nx\n\nx", "x"))).toEqual([1, 3, 5]);
    expect(modeString("file", 0o754)).toBe("-rwxr-xr--");
  });
});

describe("unifiedDiff", () => {
  const lines = (n: number) => Array.from({ length: n }, (_, i) => `l${i + 1}\n`);

  it("is empty for equal texts", () => {
    expect(unifiedDiff("a\n", "a\n", "f")).toBe("");
  });

  it("makes separate hunks for distant changes and one for near ones", () => {
    const a = lines(30);
    const b = [...a];
    b[2] = "X\n";
    b[25] = "Y\n";
    const d = unifiedDiff(a.join(""), b.join(""), "f");
    expect(d.match(/^@@ .* @@$/gm)).toEqual(["@@ -1,6 +1,6 @@", "@@ -23,7 +23,7 @@"]);
    const c = [...a];
    c[2] = "X\n";
    c[7] = "Y\n";
    expect(unifiedDiff(a.join(""), c.join(""), "f").match(/^@@ .* @@$/gm)).toEqual(["@@ -1,11 +1,11 @@"]);
  });

  it("marks a missing final newline and handles insertions into empty files", () => {
    expect(unifiedDiff("a\nb", "a\nc", "f")).toBe(
      "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n",
    );
    expect(unifiedDiff("", "new\n", "f")).toBe("--- a/f\n+++ b/f\n@@ -0,0 +1,1 @@\n+new\n");
  });
});

describe("ensureMarked", () => {
  it("marks a stream cut by a backend that did not, once", () => {
    const cut = "x".repeat(100);
    const marked = ensureMarked(cut, 100);
    expect(marked).toBe(cut + "\n[... output truncated: kept the first 100 bytes ...]\n");
    expect(ensureMarked(marked, 100)).toBe(marked);
    expect(ensureMarked("short", 100)).toBe("short");
  });
});
