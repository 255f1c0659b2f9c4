import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { alive, fixture, NODE, text, until } from "../fixtures/services-helpers.js";

// Issue 14 item 4: the reaper is a small sh watchdog, not a second Node process, and it still
// outlives a SIGKILLed mcp-herd just long enough to take the child with it.

const herds: Herd[] = [];
afterEach(async () => {
  await Promise.all(herds.splice(0).map((h) => h.close()));
});

const stat = (pid: number) => {
  const t = readFileSync(`/proc/${pid}/stat`, "latin1");
  return { comm: t.slice(t.indexOf("(") + 1, t.lastIndexOf(")")), ppid: Number(t.slice(t.lastIndexOf(")") + 2).split(" ")[1]) };
};
const childrenOf = (ppid: number) =>
  readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((p) => {
      try {
        return stat(p).ppid === ppid;
      } catch {
        return false;
      }
    });
const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);

describe("the child watchdog", () => {
  it("is one sh process under 2 MiB beside the child, and after SIGKILL of mcp-herd neither it nor the child remains", async () => {
    const h = await startHerd({ http: true });
    herds.push(h);
    const r = await h.client.callTool({ name: "service_load", arguments: { name: "echo", command: NODE, args: [fixture("echo-server.mjs")] } });
    expect(r.isError, text(r)).toBeFalsy();
    const kids = childrenOf(h.pid);
    const helpers = kids.filter((p) => stat(p).comm !== "node");
    const nodes = kids.filter((p) => stat(p).comm === "node");
    expect(nodes, "only the echo child is a Node process under mcp-herd").toHaveLength(1);
    expect(helpers.map((p) => stat(p).comm)).toEqual(["sh"]);
    const [watchdog] = helpers;
    expect(rssKiB(watchdog!)).toBeLessThan(2048);
    h.proc!.kill("SIGKILL");
    expect(await until(() => !alive(nodes[0]!) && !alive(watchdog!), 10_000), `alive: ${[...nodes, watchdog].filter((p) => alive(p!)).join(" ")}`).toBe(true);
  });
});
