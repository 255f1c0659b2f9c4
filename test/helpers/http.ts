import { request, type Agent } from "node:http";

/** Headers every streamable HTTP POST needs. */
export const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

/** A JSON-RPC initialize request body, for raw requests. */
export const INIT = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } },
});

/** A raw HTTP answer, and how long it took. */
export interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

/** A raw HTTP request (POST unless told), for what an SDK client never sends; `agent` picks the connection (false: a new one). */
export function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: Agent | false }): Promise<Raw> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? "POST", headers: opts.headers, ...(opts.agent !== undefined ? { agent: opts.agent } : {}) }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: Date.now() - t0 }));
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}
