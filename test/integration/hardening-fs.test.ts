import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, text } from "../fixtures/services-helpers.js";
import { startHerd } from "../helpers/herd.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "herd-fs-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A git repository holding the plain-Python fixture server, made here. */
function pythonRepo(name: string): string {
  const repo = join(dir, name);
  mkdirSync(repo);
  copyFileSync(fixture("fixture-py/server.py"), join(repo, "server.py"));
  const git = (...args: string[]) => execFileSync("git", ["-C", repo, ...args], { stdio: "ignore" });
  git("init", "-q", "-b", "main");
  git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".");
  git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "server");
  return repo;
}

describe("state and service folders through the real server", () => {
  it("never writes the state file through a symlink planted in its place", async () => {
    const stateDir = join(dir, "state-link");
    mkdirSync(stateDir);
    const outside = join(dir, "outside-target.json");
    writeFileSync(outside, "precious\n");
    symlinkSync(outside, join(stateDir, "state.json"));
    const herd = await startHerd({ stateDir });
    try {
      const r = await herd.client.callTool({ name: "service_load", arguments: { name: "py", path: dirnameOf(fixture("fixture-py/server.py")) } });
      expect(r.isError, text(r)).toBeFalsy();
      await herd.client.callTool({ name: "service_unload", arguments: { name: "py" } });
      // The link's target is never written: the state file is replaced by rename (or refused), not written through.
      expect(readFileSync(outside, "utf8")).toBe("precious\n");
      const st = lstatSync(join(stateDir, "state.json"));
      if (!st.isSymbolicLink()) expect(JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8"))).toHaveProperty("services");
    } finally {
      await herd.close();
    }
  });

  it("keeps services/foo2 when services/foo is cloned again or unloaded (no prefix confusion)", async () => {
    const stateDir = join(dir, "state-prefix");
    const herd = await startHerd({ stateDir });
    try {
      const repo = pythonRepo("repo-prefix");
      for (const name of ["foo", "foo2"]) {
        const r = await herd.client.callTool({ name: "service_load", arguments: { name, git: repo } });
        expect(r.isError, text(r)).toBeFalsy();
      }
      const again = await herd.client.callTool({ name: "service_load", arguments: { name: "foo", git: repo } });
      expect(again.isError, text(again)).toBeFalsy();
      await herd.client.callTool({ name: "service_unload", arguments: { name: "foo" } });
      expect(existsSync(join(stateDir, "services", "foo2", "src", "server.py"))).toBe(true);
      const call = await herd.client.callTool({ name: "service_call", arguments: { name: "foo2", tool: "echo", arguments: { message: "still here" } } });
      expect(text(call)).toContain("still here");
    } finally {
      await herd.close();
    }
  });
});

function dirnameOf(file: string): string {
  return file.slice(0, file.lastIndexOf("/"));
}
