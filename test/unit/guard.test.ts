import { describe, expect, it } from "vitest";
import { FailureThrottle, hostAllowed, hostOfHeader, originAllowed, tokenMatches } from "../../src/transports/guard.js";

const loop = { bindHost: "127.0.0.1", allowedHosts: [], allowedOrigins: [] };

describe("Host header check (DNS rebinding)", () => {
  it.each([
    ["127.0.0.1:8090", true],
    ["localhost:8090", true],
    ["LOCALHOST", true],
    ["[::1]:8090", true],
    ["127.1.2.3", true],
    ["evil.example", false],
    ["127.0.0.1.evil.example:8090", false],
    ["localhost.evil.example", false],
    ["", false],
    ["127.0.0.1:8090 extra", false],
    ["user@127.0.0.1", false],
  ])("loopback listener, Host %j -> %s", (h, ok) => {
    expect(hostAllowed(h, loop)).toBe(ok);
  });

  it("refuses a missing Host", () => expect(hostAllowed(undefined, loop)).toBe(false));

  it("honours an operator's allow-list", () => {
    const opts = { ...loop, bindHost: "0.0.0.0", allowedHosts: ["herd.lan"] };
    expect(hostAllowed("herd.lan:8090", opts)).toBe(true);
    expect(hostAllowed("other.lan", opts)).toBe(false);
  });

  it("parses Host values", () => {
    expect(hostOfHeader("[::1]:80")).toBe("::1");
    expect(hostOfHeader("Example.COM:443")).toBe("example.com");
    expect(hostOfHeader("a b")).toBeUndefined();
  });
});

describe("Origin check", () => {
  it.each([
    [undefined, true],
    ["http://localhost:3000", true],
    ["http://127.0.0.1", true],
    ["http://[::1]:9", true],
    ["https://evil.example", false],
    ["http://localhost.evil.example", false],
    ["null", false],
    ["file://", false],
    ["chrome-extension://abc", false],
  ])("Origin %j -> %s", (o, ok) => {
    expect(originAllowed(o, loop)).toBe(ok);
  });

  it("accepts listed origins on any listener and no loopback origin on a public one", () => {
    const pub = { bindHost: "0.0.0.0", allowedHosts: [], allowedOrigins: ["https://app.example"] };
    expect(originAllowed("https://app.example", pub)).toBe(true);
    expect(originAllowed("http://localhost:3000", pub)).toBe(false);
  });
});

describe("bearer token", () => {
  const t = "s3cret-token-0123456789";
  it.each([
    [`Bearer ${t}`, true],
    [`bearer ${t}`, true],
    [`Bearer ${t} `, true],
    [`Bearer ${t}x`, false],
    [`Bearer ${t.slice(0, -1)}`, false],
    [`Basic ${t}`, false],
    [t, false],
    ["Bearer", false],
    ["", false],
    [undefined, false],
  ])("%j -> %s", (h, ok) => {
    expect(tokenMatches(h, t)).toBe(ok);
  });
});

describe("failure throttle", () => {
  it("lets a few failures through, then delays with a cap, and resets on success", () => {
    const th = new FailureThrottle(60_000, 3, 1_000);
    const delays = Array.from({ length: 10 }, () => th.fail("1.2.3.4", 0));
    expect(delays.slice(0, 3)).toEqual([0, 0, 0]);
    expect(delays[3]).toBeGreaterThan(0);
    expect(Math.max(...delays)).toBe(1_000);
    expect(th.fail("5.6.7.8", 0)).toBe(0);
    th.succeed("1.2.3.4");
    expect(th.fail("1.2.3.4", 0)).toBe(0);
    expect(th.fail("5.6.7.8", 120_000)).toBe(0);
  });
});
