import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig, type Config } from "../../../src/config.js";
import { serviceChecks } from "../../../src/doctor/services.js";
import { doctorExitCode, renderTable, type Check } from "../../../src/doctor/table.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const configWith = (services: Config["services"]): Config => ({ ...loadConfig({ env: {}, flags: {} }), services });

describe("doctor pieces", () => {
  it("renders an aligned table with a summary, and exits 1 only when a check failed", () => {
    const checks: Check[] = [
      { check: "node", status: "OK", detail: "v20" },
      { check: "service longer-name", status: "FAIL", detail: "command 'x' not found on PATH", fix: "install x" },
      { check: "bun", status: "WARN", detail: "bun not found\non PATH" },
    ];
    const lines = renderTable(checks).trimEnd().split("\n");
    expect(lines[0]).toMatch(/^CHECK {16}STATUS {2}DETAIL +WHAT TO DO$/);
    expect(lines[2]).toMatch(/^service longer-name {2}FAIL {4}command 'x' not found on PATH {2}install x$/);
    expect(lines[3]).toBe("bun                  WARN    bun not found on PATH");
    expect(lines.at(-1)).toBe("3 checks: 1 OK, 1 WARN, 1 FAIL");
    expect(doctorExitCode(checks)).toBe(1);
    expect(doctorExitCode(checks.filter((c) => c.status !== "FAIL"))).toBe(0);
  });

  it("resolves a service's command on the service's PATH, refuses a missing or non-executable one, masks env values", () => {
    const dir = mkdtempSync(join(tmpdir(), "herd-doctor-unit-"));
    dirs.push(dir);
    const tool = join(dir, "my-tool");
    writeFileSync(tool, "#!/bin/sh\n");
    chmodSync(tool, 0o755);
    const plain = join(dir, "not-exec");
    writeFileSync(plain, "");
    const checks = serviceChecks(
      configWith({
        found: { command: "my-tool", env: { PATH: dir, TOKEN: "value-1234" } },
        missing: { command: "my-tool" },
        direct: { command: plain },
        off: { command: "whatever", disabled: true },
        bad: { command: "node", url: "http://x" },
        folder: { path: join(dir, "nope") },
      }),
      { PATH: "/nonexistent" },
    );
    const by = (name: string) => checks.find((c) => c.check === name)!;
    expect(by("service found")).toMatchObject({ status: "OK", detail: `command my-tool -> ${tool}` });
    expect(by("service found env")).toMatchObject({ status: "OK", detail: "mcp-herd's environment without its tokens + PATH=***, TOKEN=***" });
    expect(JSON.stringify(checks)).not.toContain("value-1234");
    expect(by("service missing")).toMatchObject({ status: "FAIL", detail: "command 'my-tool' not found on PATH", fix: expect.stringContaining("services.missing.command") });
    expect(by("service direct")).toMatchObject({ status: "FAIL", detail: expect.stringMatching(/not-exec does not exist or is not executable/) });
    expect(by("service off")).toMatchObject({ status: "OK", detail: expect.stringMatching(/disabled/) });
    expect(by("service bad")).toMatchObject({ status: "FAIL", detail: expect.stringMatching(/^invalid spec: /) });
    expect(by("service folder")).toMatchObject({ status: "FAIL", detail: expect.stringMatching(/is not a folder/) });
  });
});
