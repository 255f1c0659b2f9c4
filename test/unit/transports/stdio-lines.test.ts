import { describe, expect, it } from "vitest";
import { LineGuard, requestId, type OversizeLine } from "../../../src/transports/stdio-lines.js";

async function run(max: number, chunks: Buffer[]): Promise<{ out: string; dropped: OversizeLine[] }> {
  const dropped: OversizeLine[] = [];
  const guard = new LineGuard(max, (l) => dropped.push(l));
  const got: Buffer[] = [];
  guard.on("data", (d: Buffer) => got.push(d));
  const ended = new Promise((r) => guard.once("end", r));
  for (const c of chunks) guard.write(c);
  guard.end();
  await ended;
  return { out: Buffer.concat(got).toString(), dropped };
}

describe("stdio line guard", () => {
  it("passes whole lines up to the bound however they are chunked, and drops a longer one with its size", async () => {
    const text = "abc\n" + "x".repeat(10) + "\n" + "y".repeat(11) + "\nlast\n";
    for (let cut = 1; cut < text.length; cut++) {
      const r = await run(10, [Buffer.from(text.slice(0, cut)), Buffer.from(text.slice(cut))]);
      expect(r.out, `cut at ${cut}`).toBe("abc\n" + "x".repeat(10) + "\nlast\n");
      expect(r.dropped).toEqual([{ bytes: 11 }]);
    }
  });

  it("never hands on a partial line, and never buffers a dropped line", async () => {
    const r = await run(8, [Buffer.from("no newline yet")]);
    expect(r.out).toBe("");
    const big = Buffer.alloc(1024 * 1024, 0x61);
    const guard = new LineGuard(1024, () => undefined);
    for (let i = 0; i < 32; i++) guard.write(big);
    expect((guard as unknown as { parts: Buffer[] }).parts.length).toBe(0);
    guard.destroy();
  });

  it.each([
    ['{"method":"tools/call","params":{"a":"xx"},"jsonrpc":"2.0","id":7}', 7],
    ['{"jsonrpc":"2.0","id":"r-1","method":"tools/call","params":{}}', "r-1"],
    ['{"id":12,"method":"x"}', 12],
    ['{"method":"tools/call","params":{"arguments":{"id":5}}}', undefined],
    ['{"jsonrpc":"2.0","id":3,"result":{}}', undefined],
    ['{"method":"notifications/x","params":{"content":"\\"id\\":4}"}}', undefined],
  ])("request id of %s is %s", (line, id) => {
    expect(requestId(line.slice(0, 40), line.slice(-40))).toBe(id);
  });
});
