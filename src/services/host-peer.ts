import type { Backend } from "../backends/backend.js";
import type { ServiceHub } from "../backends/mcp/client-link.js";
import { PeerBackend } from "../backends/peer.js";
import type { HostHub } from "../hosts/hub.js";
import type { Logger } from "../log.js";

/** The mcp-herd peer of a host (through the hub's own backend for it), or why a service cannot run there. */
export function peerOfHost(hub: Pick<HostHub, "registry">, name: string): Backend | string {
  const host = hub.registry.get(name);
  if (!host) {
    const known = hub.registry.names();
    return `unknown host '${name}': known hosts are ${known.length ? known.join(", ") : "(none)"}; add it to the config "hosts" or the host registry file`;
  }
  const peer = host.paths.includes("peer") ? host.backends().find((b) => b.kind === "peer") : undefined;
  if (!peer) {
    return `host '${name}' has no peer URL: a service on another host runs under that host's mcp-herd (--http --peer), reached through "peer": { "url", "token" } in its host entry`;
  }
  return peer;
}

/** A service on a host's mcp-herd as itself: that mcp-herd's /services/<name>/mcp, with the host's peer token. */
export function endpointOfHost(hub: Pick<HostHub, "registry">, host: string, service: string, serviceHub: ServiceHub, opts: { timeoutMs: number; log: Logger }): Backend | undefined {
  const peer = hub.registry.get(host)?.peer;
  if (!peer) return undefined;
  const url = new URL(peer.url);
  url.pathname = `${url.pathname.replace(/\/mcp\/?$/, "").replace(/\/$/, "")}/services/${encodeURIComponent(service)}/mcp`;
  return new PeerBackend({ url: url.href, ...(peer.token ? { token: peer.token } : {}), timeoutMs: opts.timeoutMs, hub: serviceHub, log: opts.log.child(`endpoint:${host}/${service}`) });
}
