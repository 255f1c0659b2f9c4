import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { findTree, newTreeMark, TREE_VAR } from "../../../../src/backends/child/tree.js";
import { killGroup } from "../../../../src/backends/child/kill.js";
import { alive, waitFor } from "../../../helpers/herd.js";

const fs = { readdirSync, readFileSync };

describe("finding a child's whole tree", () => {
  it("finds a process that left the group by its mark, and its children by parent pid; killGroup ends them all", async () => {
    const mark = newTreeMark();
    // A detached node (own session and group) carrying the mark, which starts a sleep of its own.
    const p = spawn(process.execPath, ["-e", "require('child_process').spawn('sleep', ['30'], { stdio: 'ignore' }); setInterval(() => {}, 1 << 30)"], {
      detached: true,
      stdio: "ignore",
      env: { ...process.env, [TREE_VAR]: mark },
    });
    const root = p.pid!;
    try {
      expect(await waitFor(() => findTree(fs, [], [mark], []).length === 2, 5_000)).toBe(true);
      const tree = findTree(fs, [], [mark], []);
      expect(tree).toContain(root);
      // Another mark finds nothing; an excluded pid is left out (its child still carries the mark).
      expect(findTree(fs, [], [newTreeMark()], [])).toEqual([]);
      expect(findTree(fs, [], [mark], [root])).toHaveLength(1);
      // The group to stop no longer exists (as when the child died): the mark alone finds what it left.
      const noGroup = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8")) + 1;
      expect(await killGroup(noGroup, 500, 1000, mark)).toBe(true);
      for (const pid of tree) expect(await waitFor(() => !alive(pid), 5_000)).toBe(true);
    } finally {
      for (const pid of findTree(fs, [], [mark], [])) process.kill(pid, "SIGKILL");
    }
  });
});
