import { createConnection, createServer, type AddressInfo, type Socket } from "node:net";

/** Where a round-robin proxy listens, which upstream each connection went to, and how to stop it. */
export interface RoundRobinProxy {
  /** host:port of the listener on 127.0.0.1. */
  host: string;
  port: number;
  /** The index of the upstream each accepted connection was sent to, in order. */
  readonly routed: readonly number[];
  /** Connections open now (client side). */
  readonly open: number;
  /** Stops listening and ends every connection, both sides; resolves once the listener is closed. */
  close(): Promise<void>;
}

export interface Upstream {
  host: string;
  port: number;
}

// Why: two mcp-herd processes behind one address, the way a TCP load balancer without stickiness puts them:
// each new connection goes to the next upstream in turn, and bytes are piped both ways untouched.
/** Starts a round-robin TCP proxy on 127.0.0.1:0 in front of `upstreams`. */
export async function startRoundRobinProxy(upstreams: Upstream[]): Promise<RoundRobinProxy> {
  if (upstreams.length === 0) throw new Error("a round-robin proxy needs at least one upstream");
  const routed: number[] = [];
  const clients = new Set<Socket>();
  const upstreamSockets = new Set<Socket>();
  let next = 0;
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const index = next;
    next = (next + 1) % upstreams.length;
    routed.push(index);
    const { host, port } = upstreams[index]!;
    const upstream = createConnection({ host, port, allowHalfOpen: true });
    clients.add(client);
    upstreamSockets.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    // A half-close is passed on (pipe ends the other side's writing), a reset or error ends both at once.
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", () => {
      clients.delete(client);
      upstream.end();
    });
    upstream.on("close", () => {
      upstreamSockets.delete(upstream);
      client.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    host: "127.0.0.1",
    port,
    routed,
    get open() {
      return clients.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of [...clients, ...upstreamSockets]) s.destroy();
        server.close(() => resolve());
      }),
  };
}
