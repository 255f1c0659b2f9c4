import { McpError, ResourceListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { fixture, NODE } from "../fixtures/services-helpers.js";

const herds: Herd[] = [];
afterEach(async () => {
  await Promise.all(herds.splice(0).map((h) => h.close()));
});

const textOf = (r: { contents: unknown[] }) => String((r.contents[0] as { text?: unknown } | undefined)?.text ?? "");

describe("herd:// resources through an MCP client", () => {
  it("lists and reads herd://services, herd://hosts and a service's logs, with list_changed on load and unload", async () => {
    const h = await startHerd({ env: { LMCP_HUB_BACKENDS: "" } });
    herds.push(h);
    expect(h.client.getServerCapabilities()?.resources?.listChanged).toBe(true);
    let changed = 0;
    h.client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void changed++);

    const before = await h.client.listResources();
    expect(before.resources.map((r) => r.uri).sort()).toEqual(["herd://hosts", "herd://services"]);
    const templates = await h.client.listResourceTemplates();
    expect(templates.resourceTemplates.map((t) => t.uriTemplate)).toEqual(["herd://services/{name}/logs"]);

    const loaded = await h.client.callTool({ name: "service_load", arguments: { name: "echo", command: NODE, args: [fixture("echo-server.mjs")] } });
    expect(loaded.isError).toBeFalsy();
    expect(await waitFor(() => changed > 0, 10_000)).toBe(true);
    const after = await h.client.listResources();
    expect(after.resources.map((r) => r.uri)).toContain("herd://services/echo/logs");

    const services = JSON.parse(textOf(await h.client.readResource({ uri: "herd://services" }))) as {
      services: Array<{ name: string; status: string; pid: number | null }>;
    };
    expect(services.services).toEqual([expect.objectContaining({ name: "echo", status: "running" })]);
    expect(services.services[0]!.pid).toBeGreaterThan(0);

    const logs = await h.client.readResource({ uri: "herd://services/echo/logs" });
    expect(logs.contents[0]!.mimeType).toBe("text/plain");
    expect(textOf(logs)).toMatch(/stderr echo-server started pid=\d+/);

    const hosts = JSON.parse(textOf(await h.client.readResource({ uri: "herd://hosts" }))) as { hosts: Array<{ name: string; state: string }> };
    expect(hosts.hosts).toEqual([expect.objectContaining({ name: "local", state: "UNKNOWN" })]);
    await h.client.callTool({ name: "remote_list_hosts", arguments: {} });
    const probed = JSON.parse(textOf(await h.client.readResource({ uri: "herd://hosts" }))) as { hosts: Array<{ name: string; state: string }> };
    expect(probed.hosts).toEqual([expect.objectContaining({ name: "local", state: "UP" })]);

    const seen = changed;
    await h.client.callTool({ name: "service_unload", arguments: { name: "echo" } });
    expect(await waitFor(() => changed > seen, 10_000)).toBe(true);
    expect((await h.client.listResources()).resources.map((r) => r.uri)).not.toContain("herd://services/echo/logs");
  });

  it("answers an unknown URI and the logs of an unknown service with a resource-not-found error naming what exists", async () => {
    const h = await startHerd({ env: { LMCP_HUB_BACKENDS: "" } });
    herds.push(h);
    const unknown = await h.client.readResource({ uri: "herd://nope" }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(McpError);
    expect((unknown as McpError).code).toBe(-32602);
    expect((unknown as McpError).message).toMatch(/unknown resource 'herd:\/\/nope'.*herd:\/\/services, herd:\/\/hosts/);
    const ghost = await h.client.readResource({ uri: "herd://services/ghost/logs" }).catch((e: unknown) => e);
    expect((ghost as McpError).code).toBe(-32602);
    expect((ghost as McpError).message).toMatch(/no service named 'ghost' is loaded/);
  });
});
