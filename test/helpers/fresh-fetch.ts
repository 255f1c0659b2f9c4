import { request } from "node:http";
import { Readable } from "node:stream";

// Why: Node's fetch keeps connections alive and reuses them, so a client behind a per-connection balancer
// would stay on one upstream. This fetch opens a new TCP connection for every request (agent: false).
/** A fetch (plain http:// only) that never reuses a connection; the response body streams as it arrives (SSE too). */
export function freshFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.protocol !== "http:") return Promise.reject(new Error(`freshFetch speaks http:// only, not ${url.protocol}`));
  const headers = Object.fromEntries(new Headers(init.headers).entries());
  const body = init.body;
  if (body !== undefined && body !== null && typeof body !== "string") return Promise.reject(new Error("freshFetch sends string bodies only"));
  return new Promise<Response>((resolve, reject) => {
    const req = request(url, { method: init.method ?? "GET", headers, agent: false, signal: init.signal ?? undefined }, (res) => {
      const out = new Headers();
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(", ") : v);
      const status = res.statusCode ?? 502;
      const empty = status === 204 || status === 304 || req.method === "HEAD";
      if (empty) res.resume();
      resolve(new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage, headers: out }));
    });
    req.on("error", reject);
    req.end(body ?? undefined);
  });
}
