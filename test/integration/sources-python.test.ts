import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log.js";
import { createContext } from "../../src/services/sources/context.js";
import { findOnPath } from "../../src/services/sources/fsutil.js";
import { prepareSource } from "../../src/services/sources/index.js";
import { resolveConsoleScript } from "../../src/services/sources/pyenv.js";
import { preparePython } from "../../src/services/sources/python.js";
import type { PrepareOptions } from "../../src/services/types.js";
import { callOnce } from "../fixtures/sources/launch.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/sources");
const python = findOnPath("python3") ?? "python3";

let tmp: string;
let wheels: string;
const saved: Record<string, string | undefined> = {};
let firstVenv: string | undefined;

function makeWheel(dist: string, scripts: Record<string, string>): void {
  const r = spawnSync(python, [join(FIXTURES, "make_wheel.py"), wheels, dist, "0.1.0", JSON.stringify(scripts)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "herd-sources-py-"));
  wheels = join(tmp, "wheels");
  mkdirSync(wheels);
  const target = "mcp_herd_fixture_py.server:main";
  makeWheel("mcp-herd-fixture-py", { "mcp-herd-fixture-py": target, "fixture-helper": target });
  makeWheel("fixture-two", { "tool-a": "fixture_two.server:main", "tool-b": "fixture_two.server:main" });
  makeWheel("fixture-none", {});
  // pip finds our hand-made wheels offline and nothing else.
  for (const [k, v] of Object.entries({ PIP_FIND_LINKS: wheels, PIP_NO_INDEX: "1", PIP_CONSTRAINT: "", PIP_EXTRA_INDEX_URL: "" })) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(tmp, { recursive: true, force: true });
});

const options = (phases: string[] = []): PrepareOptions => ({
  stateDir: join(tmp, "state"),
  installTimeoutMs: 120_000,
  log: silentLogger,
  onPhase: (p) => void phases.push(p),
});

/** Runs the block with a PATH that has python3 but no uv/uvx, whatever the caller's machine has. */
function withoutUv(): void {
  let savedPath: string | undefined;
  beforeAll(() => {
    savedPath = process.env.PATH;
    const bin = join(tmp, "py-only-bin");
    mkdirSync(bin, { recursive: true });
    if (!existsSync(join(bin, "python3"))) symlinkSync(realpathSync(python), join(bin, "python3"));
    const rest = (savedPath ?? "").split(delimiter).filter((d) => d && !findOnPath("uvx", d) && !findOnPath("uv", d));
    process.env.PATH = [bin, ...rest].join(delimiter);
    expect(findOnPath("uvx")).toBeUndefined();
  });
  afterAll(() => {
    process.env.PATH = savedPath;
  });
}

describe("python source without uv (venv + pip)", () => {
  withoutUv();

  it("installs the spec into a venv of its own and runs the console script from its entry points; cached after", async () => {
    const phases: string[] = [];
    const p = await prepareSource("pyfix", { python: "mcp-herd-fixture-py==0.1.0", env: { FIXTURE_LABEL: "wheel" } }, options(phases));
    expect(p.source).toBe("python");
    expect(phases).toContain("installing");
    expect(p.install_ms).toBeGreaterThan(0);
    const launch = p.launch as { command: string; env: Record<string, string> };
    expect(launch.command).toMatch(/venvs\/pkg-mcp-herd-fixture-py-0\.1\.0-[0-9a-f]{16}\/bin\/mcp-herd-fixture-py$/);
    expect(launch.env.VIRTUAL_ENV).toBeTruthy();
    firstVenv = launch.env.VIRTUAL_ENV;
    const who = JSON.parse(await callOnce(p.launch, "whoami"));
    expect(who.label).toBe("wheel");
    expect(who.python.startsWith(launch.env.VIRTUAL_ENV!)).toBe(true);

    const phases2: string[] = [];
    const again = await prepareSource("pyfix", { python: "mcp-herd-fixture-py==0.1.0" }, options(phases2));
    expect(again.install_ms).toBe(0);
    expect(again.detail).toMatch(/cached/);
    expect(phases2).not.toContain("installing");
  });

  it("refuses a distribution whose console scripts are ambiguous or absent, naming them", async () => {
    const venv = firstVenv!;
    expect(venv).toBeTruthy();
    const pip = spawnSync(join(venv, "bin", "python"), ["-m", "pip", "install", "-q", "fixture-two", "fixture-none"], { encoding: "utf8" });
    expect(pip.stderr).not.toMatch(/ERROR/);
    const ctx = createContext("two", { python: "fixture-two" }, options());
    await expect(resolveConsoleScript(ctx, venv, "fixture-two")).rejects.toThrow(/several console scripts \(tool-a, tool-b\)/);
    await expect(resolveConsoleScript(ctx, venv, "fixture-none")).rejects.toThrow(/declares no console script/);
    await expect(resolveConsoleScript(ctx, venv, "mcp-herd-fixture-py")).resolves.toMatchObject({ script: "mcp-herd-fixture-py" });
  });

  it("fails a spec pip cannot find, with pip's last lines", async () => {
    const err = (await prepareSource("ghost", { python: "mcp-herd-no-such-dist" }, options()).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/pip install of 'mcp-herd-no-such-dist' failed/);
    expect(err.message).toMatch(/last \d+ output lines[\s\S]*(No matching distribution|Could not find)/);
  });

  it("gives a Python folder with requirements a venv of the service's own", async () => {
    const dir = join(tmp, "pyapp");
    cpSync(join(FIXTURES, "python-server"), dir, { recursive: true });
    writeFileSync(join(dir, "requirements.txt"), "mcp-herd-fixture-py\n");
    const p = await prepareSource("pyapp", { path: dir }, options());
    const venv = join(tmp, "state", "venvs", "pyapp");
    expect(p.launch).toMatchObject({ command: join(venv, "bin", "python"), args: [join(dir, "server.py")] });
    expect(existsSync(join(venv, "bin", "mcp-herd-fixture-py"))).toBe(true);
    const again = await prepareSource("pyapp", { path: dir }, options());
    expect(again.install_ms).toBe(0);
  });
});

describe("python source with uv", () => {
  it("launches uvx with the package (and --from for a versioned spec)", async () => {
    const ctx = createContext("u", { python: "x" }, options());
    expect((await preparePython(ctx, "mcp-server-time", "/opt/uv/uvx")).launch).toMatchObject({ command: "/opt/uv/uvx", args: ["mcp-server-time"] });
    expect((await preparePython(ctx, "mcp-server-time==1.0", "/opt/uv/uvx")).launch).toMatchObject({
      args: ["--from", "mcp-server-time==1.0", "mcp-server-time"],
    });
  });

  it("with a uvx on PATH, prepareSource launches through it and the service answers", async () => {
    // uv cannot be installed here (no PyPI): a stand-in uvx records its argv, then runs the fixture
    // server the way uvx would run the package's console script.
    const bin = join(tmp, "uv-bin");
    mkdirSync(bin, { recursive: true });
    const record = join(tmp, "uvx-argv.txt");
    const stub = join(bin, "uvx");
    writeFileSync(stub, `#!/bin/sh\nprintf '%s\\n' "$@" > '${record}'\nexec '${python}' '${join(FIXTURES, "python-server", "server.py")}'\n`);
    chmodSync(stub, 0o755);
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}${delimiter}${savedPath ?? ""}`;
    try {
      const p = await prepareSource("uvsvc", { python: "mcp-herd-fixture-py==0.1.0" }, options());
      expect(p.source).toBe("python");
      expect(p.launch).toMatchObject({ command: stub, args: ["--from", "mcp-herd-fixture-py==0.1.0", "mcp-herd-fixture-py"] });
      expect(p.install_ms).toBe(0);
      expect(await callOnce(p.launch, "whoami")).toMatch(/python/);
      expect(readFileSync(record, "utf8")).toBe("--from\nmcp-herd-fixture-py==0.1.0\nmcp-herd-fixture-py\n");
    } finally {
      process.env.PATH = savedPath;
    }
  });
});
