import { createHash, timingSafeEqual } from "node:crypto";
import { isLoopback } from "../config.js";

/** Hostname of a Host header value (`[::1]:8090` -> `::1`, `Example.com:80` -> `example.com`). */
export function hostOfHeader(value: string): string | undefined {
  const v = value.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(v);
  return m ? m[1]!.replace(/^\[|\]$/g, "") : undefined;
}

export interface GuardOptions {
  bindHost: string;
  allowedHosts: string[];
  allowedOrigins: string[];
}

// DNS rebinding: a browser page on evil.example can resolve its own name to 127.0.0.1 and talk to
// us, but its requests still carry `Host: evil.example`. A loopback listener therefore answers only
// to loopback names unless the operator lists more.
/** Is this Host header acceptable for the listener? */
export function hostAllowed(header: string | undefined, opts: GuardOptions): boolean {
  if (header === undefined) return false;
  const host = hostOfHeader(header);
  if (host === undefined) return false;
  if (opts.allowedHosts.length > 0) return opts.allowedHosts.map((h) => h.toLowerCase()).includes(host) || isLoopback(host);
  if (isLoopback(opts.bindHost)) return isLoopback(host);
  return true;
}

// Browsers always send Origin on cross-site requests; other clients usually send none. A page from a
// foreign origin must never drive the server, so an Origin is accepted only when it is loopback (for a
// loopback listener) or listed.
/** Is this Origin header acceptable? No Origin (a non-browser client) is. */
export function originAllowed(header: string | undefined, opts: GuardOptions): boolean {
  if (header === undefined) return true;
  if (opts.allowedOrigins.includes(header)) return true;
  let url: URL;
  try {
    url = new URL(header);
  } catch {
    return false;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  return isLoopback(url.hostname.replace(/^\[|\]$/g, "")) && isLoopback(opts.bindHost);
}

/** Compares a presented bearer token with the expected one in constant time (hashes first, so lengths never leak). */
export function tokenMatches(authorization: string | undefined, expected: string): boolean {
  if (!authorization) return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) return false;
  const a = createHash("sha256").update(m[1]!).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Which of the accepted tokens was presented (every one is compared, in constant time); undefined for none. */
export function matchToken(authorization: string | undefined, accepted: Array<{ id: string; token: string }>): string | undefined {
  let found: string | undefined;
  for (const t of accepted) if (tokenMatches(authorization, t.token) && found === undefined) found = t.id;
  return found;
}

/** A short, non-reversible id for a token, for logs and session binding. */
export function tokenId(token: string): string {
  return "tok-" + createHash("sha256").update(token).digest("hex").slice(0, 8);
}

/** Slows down repeated authentication failures from one address. */
export class FailureThrottle {
  private readonly failures = new Map<string, { count: number; first: number }>();

  constructor(
    private readonly windowMs = 60_000,
    private readonly freeFailures = 5,
    private readonly maxDelayMs = 2_000,
  ) {}

  /** Records a failure and returns how long to wait before answering it. */
  fail(address: string, now = Date.now()): number {
    let f = this.failures.get(address);
    if (!f || now - f.first > this.windowMs) {
      f = { count: 0, first: now };
      this.failures.set(address, f);
    }
    f.count++;
    if (this.failures.size > 10_000) this.prune(now);
    const over = f.count - this.freeFailures;
    return over <= 0 ? 0 : Math.min(this.maxDelayMs, 100 * 2 ** Math.min(over, 10));
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }

  /** How many addresses it remembers now (bounded: expired ones are pruned past 10,000). */
  get tracked(): number {
    return this.failures.size;
  }

  private prune(now: number): void {
    for (const [k, v] of this.failures) if (now - v.first > this.windowMs) this.failures.delete(k);
  }
}
