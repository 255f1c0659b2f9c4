import { describe, expect, it } from "vitest";
import { boundResult, jsonStringBytes, resultBytes } from "../../../../src/hosts/toolset/bound.js";

describe("result message bound", () => {
  it.each([
    ["plain", "abc"],
    ["escapes", '"\\\n\r\t\b\f'],
    ["controls", "\u0000\u0001\u001f\u007f"],
    ["multibyte", "é中😀\u2028"],
    ["lone surrogates", "\ud800x\udc00"],
  ])("counts JSON bytes exactly: %s", (_name, s) => {
    expect(jsonStringBytes(s)).toBe(Buffer.byteLength(JSON.stringify(s)) - 2);
  });

  it("cuts both copies of big streams until the whole result fits, keeping start and end, flagging truncated", () => {
    for (const fill of ["\u0000", "x", "中", "😀", "\n"]) {
      const big = fill.repeat(400_000);
      const r = boundResult(
        { content: [{ type: "text", text: `[rc=0]\n${big}[stderr]\nEND` }], structuredContent: { stdout: big, stderr: "tail-kept", truncated: false, exit_code: 0 } },
        200_000,
      );
      expect(resultBytes(r), fill).toBeLessThanOrEqual(200_000);
      expect(resultBytes(r), fill).toBeGreaterThan(150_000);
      const sc = r.structuredContent as { stdout: string; stderr: string; truncated: boolean };
      expect(sc.truncated).toBe(true);
      expect(sc.stderr).toBe("tail-kept");
      expect(sc.stdout).toMatch(/output truncated to fit the 195\.3 KiB message bound/);
      const text = (r.content[0] as { text: string }).text;
      expect(text.startsWith("[rc=0]\n")).toBe(true);
      expect(text.endsWith("[stderr]\nEND")).toBe(true);
      expect(text).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    }
  });

  it("returns a result under the bound as it was", () => {
    const r = { content: [{ type: "text" as const, text: "x".repeat(1000) }], structuredContent: { stdout: "x".repeat(1000) } };
    expect(boundResult(r, 10_000)).toBe(r);
  });
});
