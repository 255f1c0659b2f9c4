import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/herd.js";
import { snippetLint as lint } from "../helpers/lint.js";

async function layerMessages(code: string, file: string): Promise<string[]> {
  const [r] = await lint.lintText(code, { filePath: `${ROOT}${file}` });
  return r!.messages.filter((m) => m.ruleId === "@typescript-eslint/no-restricted-imports").map((m) => m.message);
}

describe("lint keeps the layers: an import never runs up (ARCHITECTURE.md)", () => {
  it.each([
    ["backends/ importing the hub", "src/backends/lint-probe.ts", 'import { createHub } from "../hosts/hub.js";\nexport { createHub };\n', "backends/ import only"],
    ["backends/ssh/ importing a hosts/ family", "src/backends/ssh/lint-probe.ts", 'import { runHostTool } from "../../hosts/toolset/toolset.js";\nexport { runHostTool };\n', "backends/ import only"],
    ["backends/ importing the supervisor", "src/backends/child/lint-probe.ts", 'import type { ServiceRegistry } from "../../services/registry.js";\nexport type { ServiceRegistry };\n', "backends/ import only"],
    ["the base importing backends/", "src/log.ts", 'import { LocalHostIO } from "./backends/local.js";\nexport { LocalHostIO };\n', "the base"],
    ["util/ importing hosts/", "src/util/lint-probe.ts", 'import { createHub } from "../hosts/hub.js";\nexport { createHub };\n', "the base"],
    ["hosts/ importing services/", "src/hosts/lint-probe.ts", 'import { ServiceRegistry } from "../services/registry.js";\nexport { ServiceRegistry };\n', "hosts/ (the hub)"],
    ["services/ importing tools/", "src/services/lint-probe.ts", 'import { buildTools } from "../tools/index.js";\nexport { buildTools };\n', "services/ (the supervisor)"],
    ["services/ taking a hosts/ value", "src/services/lint-probe.ts", 'import { createHub } from "../hosts/hub.js";\nexport { createHub };\n', "hosts/ types only"],
    ["tools/ building a backend", "src/tools/lint-probe.ts", 'import { LocalHostIO } from "../backends/local.js";\nexport { LocalHostIO };\n', "tools/ never build backends"],
    ["tools/ importing the server", "src/tools/lint-probe.ts", 'import { createServer } from "../server.js";\nexport { createServer };\n', "tools/ call services/"],
    ["transports/ importing tools/", "src/transports/lint-probe.ts", 'import { buildTools } from "../tools/index.js";\nexport { buildTools };\n', "transports/ know nothing"],
    ["server.ts importing a transport", "src/server.ts", 'import { serveHttp } from "./transports/http.js";\nexport { serveHttp };\n', "server.ts builds"],
  ])("refuses %s, naming the rule", async (_what, file, code, rule) => {
    const messages = await layerMessages(code, file);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/layers: /);
    expect(messages[0]).toContain(rule);
  });

  it.each([
    ["backends/ssh/ on the host I/O contract", "src/backends/ssh/lint-probe.ts", 'import type { ExecRequest } from "../host-io.js";\nexport type { ExecRequest };\n'],
    ["hosts/ on a backend", "src/hosts/lint-probe.ts", 'import { LocalHostIO } from "../backends/local.js";\nexport { LocalHostIO };\n'],
    ["tools/ on the Backend seam's helpers", "src/tools/lint-probe.ts", 'import { textResult } from "../backends/backend.js";\nexport { textResult };\n'],
    ["tools/ on the App type", "src/tools/lint-probe.ts", 'import type { App } from "../app.js";\nexport type { App };\n'],
    ["the app wiring on every layer below it", "src/app.ts", 'import { buildTools } from "./tools/index.js";\nexport { buildTools };\n'],
  ])("allows %s", async (_what, file, code) => {
    expect(await layerMessages(code, file)).toEqual([]);
  });
});

describe("lint keeps src/ on the v2 SDK (issue 16)", () => {
  const sdkMessages = async (code: string, file: string) => {
    const [r] = await lint.lintText(code, { filePath: `${ROOT}${file}` });
    return r!.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
  };

  it("refuses the 1.x SDK anywhere in src/, and any SDK package in tools/", async () => {
    const v1 = 'import { Client } from "@modelcontextprotocol/sdk/client/index.js";\nexport { Client };\n';
    expect(await sdkMessages(v1, "src/backends/lint-probe.ts")).toEqual([expect.stringContaining("src/ runs on the v2 packages")]);
    const v2 = 'import { Server } from "@modelcontextprotocol/server";\nexport { Server };\n';
    expect(await sdkMessages(v2, "src/tools/lint-probe.ts")).toEqual([expect.stringContaining("tools/ uses defineTool")]);
    expect(await sdkMessages(v2, "src/transports/lint-probe.ts")).toEqual([]);
  });
});
