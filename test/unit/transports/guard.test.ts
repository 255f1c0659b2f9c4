import { describe, expect, it } from "vitest";
import { FailureThrottle, hostAllowed, hostOfHeader, matchToken, originAllowed, tokenId, tokenMatches } from "../../../src/transports/guard.js";

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
    expect(hostAllowed("localhost:8090", opts)).toBe(true);
    // A loopback listener with a list: the listed names and loopback, nothing else.
    const listedLoop = { ...loop, allowedHosts: ["Herd.LAN"] };
    expect(hostAllowed("herd.lan", listedLoop)).toBe(true);
    expect(hostAllowed("127.0.0.1", listedLoop)).toBe(true);
    expect(hostAllowed("evil.example", listedLoop)).toBe(false);
  });

  it("a non-loopback listener without a list accepts any well-formed Host, and still no malformed one", () => {
    const pub = { ...loop, bindHost: "0.0.0.0" };
    expect(hostAllowed("herd.lan:8090", pub)).toBe(true);
    expect(hostAllowed("10.0.0.7", pub)).toBe(true);
    expect(hostAllowed("a b", pub)).toBe(false);
    expect(hostAllowed(undefined, pub)).toBe(false);
  });

  it("parses Host values", () => {
    expect(hostOfHeader("[::1]:80")).toBe("::1");
    expect(hostOfHeader("Example.COM:443")).toBe("example.com");
    expect(hostOfHeader("a b")).toBeUndefined();
    expect(hostOfHeader(" localhost:80 ")).toBe("localhost");
    expect(hostOfHeader("localhost:123456")).toBeUndefined();
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
    ["https://localhost:8443", true],
    ["ftp://localhost", false],
    ["ws://127.0.0.1:9", false],
    ["not a url", false],
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
    [`Bearer  ${t}`, true],
    [`Bearer\t${t}`, true],
    [`xBearer ${t}`, false],
    [`Bearer ${t} extra`, false],
    [`Bearer${t}`, false],
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

describe("named tokens", () => {
  const a = "token-a-0123456789abcdef";
  const b = "token-b-0123456789abcdef";
  it("names the token presented, the first listed when two are equal, and none for a wrong one", () => {
    expect(matchToken(`Bearer ${b}`, [{ id: "a", token: a }, { id: "b", token: b }])).toBe("b");
    expect(matchToken(`Bearer ${a}`, [{ id: "a", token: a }, { id: "b", token: b }])).toBe("a");
    expect(matchToken("Bearer wrong", [{ id: "a", token: a }, { id: "b", token: b }])).toBeUndefined();
    expect(matchToken(`Bearer ${a}`, [{ id: "first", token: a }, { id: "second", token: a }])).toBe("first");
    expect(matchToken(undefined, [{ id: "a", token: a }])).toBeUndefined();
    expect(matchToken(`Bearer ${a}`, [])).toBeUndefined();
  });

  it("gives a token a short id that names it without revealing it", () => {
    expect(tokenId(a)).toMatch(/^tok-[0-9a-f]{8}$/);
    expect(tokenId(a)).not.toBe(tokenId(b));
    expect(tokenId(a)).toBe(tokenId(a));
    expect(tokenId(a)).not.toContain(a.slice(0, 6));
  });
});

describe("failure throttle", () => {
  it("doubles from 200 ms once the free failures are used, up to the cap", () => {
    const th = new FailureThrottle(60_000, 3, 1_000);
    expect(Array.from({ length: 8 }, () => th.fail("1.2.3.4", 0))).toEqual([0, 0, 0, 200, 400, 800, 1_000, 1_000]);
  });

  it("counts failures within the window from the first one, and starts over after it", () => {
    const th = new FailureThrottle(60_000, 1, 10_000);
    expect(th.fail("a", 10_000)).toBe(0);
    // 55 s after the first failure: still the same window (the window is measured from the first failure).
    expect(th.fail("a", 65_000)).toBe(200);
    // Exactly the window after the first: still counted; past it: a fresh start.
    expect(th.fail("a", 70_000)).toBe(400);
    expect(th.fail("a", 70_001)).toBe(0);
  });

  it("forgets expired addresses once it tracks more than 10,000, and only then", () => {
    const th = new FailureThrottle(60_000, 5, 1_000);
    for (let i = 0; i < 9_999; i++) th.fail(`10.0.${i >> 8}.${i & 255}`, 0);
    th.fail("new-1", 61_000);
    expect(th.tracked).toBe(10_000);
    th.fail("new-2", 61_000);
    expect(th.tracked).toBe(2);
  });

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
