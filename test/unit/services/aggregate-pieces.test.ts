import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { mapServiceName, SERVICE_NAME } from "../../../src/config-clients.js";
import { decideOwners } from "../../../src/services/catalog-owners.js";
import { CatalogError, paginate } from "../../../src/services/catalog-page.js";
import { templateMatcher } from "../../../src/services/uri-template.js";

const dir = mkdtempSync(join(tmpdir(), "herd-agg-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const load = (body: unknown) => {
  const p = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, JSON.stringify(body));
  return loadConfig({ file: p, env: {}, flags: {} });
};

describe("client config names", () => {
  it.each([
    ["GitHub", "github"],
    ["My Server", "my-server"],
    ["@scope/pkg.name", "scope-pkg-name"],
    ["__x__", "x__"],
    ["!!!", "server"],
    ["A".repeat(80), "a".repeat(63)],
  ])("maps %j to %j, a valid service name", (raw, want) => {
    const got = mapServiceName(raw, new Set());
    expect(got).toBe(want);
    expect(SERVICE_NAME.test(got)).toBe(true);
  });

  it("never takes a name already used, and stays valid when suffixed", () => {
    expect(mapServiceName("GitHub", new Set(["github"]))).toBe("github-2");
    expect(mapServiceName("GitHub", new Set(["github", "github-2"]))).toBe("github-3");
    const long = mapServiceName("B".repeat(70), new Set(["b".repeat(63)]));
    expect(SERVICE_NAME.test(long)).toBe(true);
  });

  it("maps names of mcpServers and VS Code servers, keeping valid ones and services' own names", () => {
    const c = load({
      services: { github: { command: "a" } },
      mcpServers: { GitHub: { command: "b" }, ok: { command: "c" } },
      servers: { "Web Search": { type: "http", url: "http://127.0.0.1:1/mcp" } },
      inputs: [{ id: "key", type: "promptString" }],
    });
    expect(Object.keys(c.services).sort()).toEqual(["github", "github-2", "ok", "web-search"]);
    expect(c.services.github).toMatchObject({ command: "a" });
    expect(c.services["github-2"]).toMatchObject({ command: "b" });
    expect(c.serviceAliases).toEqual({ "github-2": "GitHub", "web-search": "Web Search" });
    expect(c.notes.join("\n")).toContain("ignored 'inputs'");
  });

  it("drops client-only keys with one note, and reads Cline's transportType and streamableHttp", () => {
    const c = load({
      mcpServers: {
        a: { command: "x", alwaysAllow: ["t"], autoApprove: [], timeout: 30, disabled: false },
        b: { url: "http://127.0.0.1:1/mcp", transportType: "sse" },
        c: { url: "http://127.0.0.1:1/mcp", type: "streamableHttp" },
      },
    });
    expect(c.services.a).toEqual({ command: "x", disabled: false });
    expect(c.services.b).toEqual({ url: "http://127.0.0.1:1/mcp", type: "sse" });
    expect(c.services.c).toEqual({ url: "http://127.0.0.1:1/mcp", type: "streamable-http" });
    const ignored = c.notes.filter((n) => n.startsWith("ignored client-only keys"));
    expect(ignored).toEqual(["ignored client-only keys (mcp-herd has no approval prompt and its own timeouts): mcpServers.a.alwaysAllow, mcpServers.a.autoApprove, mcpServers.a.timeout"]);
  });

  it("startupWaitSeconds defaults to 15 and is validated", () => {
    expect(load({}).startupWaitSeconds).toBe(15);
    expect(load({ startupWaitSeconds: 0 }).startupWaitSeconds).toBe(0);
    expect(() => load({ startupWaitSeconds: -1 })).toThrow(/startupWaitSeconds/);
    expect(() => load({ startupWaitSeconds: "5" })).toThrow(/startupWaitSeconds/);
  });
});

describe("URI templates", () => {
  it.each([
    ["demo://resource/dynamic/text/{resourceId}", "demo://resource/dynamic/text/3", true],
    ["demo://resource/dynamic/text/{resourceId}", "demo://resource/dynamic/text/3/more", false],
    ["demo://resource/dynamic/text/{resourceId}", "demo://resource/dynamic/text/", false],
    ["file:///{+path}", "file:///a/b/c.txt", true],
    ["search://q{?term,limit}", "search://q?term=x&limit=2", true],
    ["search://q{?term,limit}", "search://q", true],
    ["a.b://x/{id}", "aXb://x/1", false],
    ["file:///{name}.txt", "file:///notes.txt", true],
    ["repo://{owner}/{name}", "repo://me/thing", true],
  ])("%s matches %s: %s", (template, uri, want) => {
    expect(templateMatcher(template)?.(uri)).toBe(want);
  });

  it("refuses a broken or ambiguous template rather than matching everything", () => {
    expect(templateMatcher("x://{open")).toBeUndefined();
    expect(templateMatcher("x://{a}{b}")).toBeUndefined();
    expect(templateMatcher("x://{+a}/{+b}")).toBeUndefined();
  });

  it("matches a hostile template against a long URI in linear time", () => {
    const template = `x://${Array.from({ length: 30 }, (_, i) => `{v${i}}`).join(".")}.end`;
    const match = templateMatcher(template)!;
    const uri = `x://${"a.".repeat(2000)}`;
    const started = Date.now();
    expect(match(uri)).toBe(false);
    expect(match(`x://${"a".repeat(5000)}`)).toBe(false);
    // A backtracking pattern would take minutes here; 2 s is a deadline against a hang.
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe("our own pagination", () => {
  const items = Array.from({ length: 250 }, (_, i) => i);

  it("walks every item once with opaque cursors", () => {
    const seen: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const { page, nextCursor } = paginate(items, cursor);
      seen.push(...page);
      cursor = nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(items);
    expect(paginate(items.slice(0, 3), undefined)).toEqual({ page: [0, 1, 2] });
  });

  it.each(["garbage", "", Buffer.from("o-1").toString("base64url"), Buffer.from("x100").toString("base64url")])("refuses the cursor %j as invalid params", (cursor) => {
    let err: unknown;
    try {
      paginate(items, cursor);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CatalogError);
    expect((err as CatalogError).code).toBe(-32602);
    expect((err as CatalogError).message).toMatch(/^invalid cursor/);
  });
});

describe("who owns a URI, a template, a prompt", () => {
  const lists = (service: string, uris: string[], templates: string[] = [], prompts: string[] = []) => ({
    service,
    resources: uris.map((uri) => ({ uri, name: uri })),
    templates: templates.map((uriTemplate) => ({ uriTemplate, name: uriTemplate })),
    prompts: prompts.map((name) => ({ name })),
  });

  it("gives a URI or template two services claim to the first loaded, and records the loser's clash", () => {
    const o = decideOwners([lists("a", ["x://1", "x://2"], ["x://t/{id}"]), lists("b", ["x://2", "x://3"], ["x://t/{id}"])]);
    expect(o.uriOwner.get("x://2")).toBe("a");
    expect(o.uriOwner.get("x://3")).toBe("b");
    expect(o.resources.map((r) => r.uri)).toEqual(["x://1", "x://2", "x://3"]);
    expect(o.templateOwners.map((t) => t.service)).toEqual(["a"]);
    expect(o.clashes.get("b")).toEqual(["resource x://2 (served by 'a')", "resource template x://t/{id} (served by 'a')"]);
    expect(o.clashes.has("a")).toBe(false);
  });

  it("never lets a service serve herd:// URIs, and prefixes prompts with the service", () => {
    const o = decideOwners([lists("a", ["herd://services"], ["herd://services/{name}/logs"], ["review"])]);
    expect(o.resources).toEqual([]);
    expect(o.templates).toEqual([]);
    expect(o.clashes.get("a")).toEqual(["resource herd://services (served by mcp-herd itself)", "resource template herd://services/{name}/logs (served by mcp-herd itself)"]);
    expect(o.prompts).toEqual([{ name: "a__review" }]);
    expect(o.promptIndex.get("a__review")).toEqual({ service: "a", name: "review" });
  });

  it("skips entries without a string uri, uriTemplate or name rather than serving them", () => {
    const o = decideOwners([{ service: "a", resources: [{ uri: 5 }], templates: [{}], prompts: [{ name: null }] }]);
    expect([o.resources, o.templates, o.prompts]).toEqual([[], [], []]);
  });
});
