import type { App } from "./app.js";
import type { ServiceCatalog } from "./services/catalog.js";
import type { LogLine } from "./services/logs.js";

/** A resource a client can read, as resources/list shows it. */
export interface ResourceEntry {
  uri: string;
  name: string;
  title: string;
  description: string;
  mimeType: string;
}

/** A family of resources, as resources/templates/list shows it. */
export interface ResourceTemplateEntry {
  uriTemplate: string;
  name: string;
  title: string;
  description: string;
  mimeType: string;
}

/** What resources/read answers: one text content. */
export interface ResourceText {
  uri: string;
  mimeType: string;
  text: string;
}

/** An unknown or unreadable URI; server.ts turns it into a JSON-RPC error (-32602, resource not found). */
export class ResourceNotFound extends Error {
  override readonly name = "ResourceNotFound";
}

/** A service's logs: read where it runs (readLogs, also remote services), or its local ring. */
interface LogSource {
  readLogs?: (lines: number) => Promise<LogLine[]>;
  logs?: { tail(lines: number): LogLine[] };
}

const LOGS = /^herd:\/\/services\/([^/]+)\/logs$/;
const LOG_LINES = 1000;

/** The fixed resources plus one log resource per loaded service. */
export function listResources(app: App): ResourceEntry[] {
  const out: ResourceEntry[] = [
    {
      uri: "herd://services",
      name: "services",
      title: "Services",
      description: "Every loaded service with its status, pid, restarts, last exit and tool count (JSON).",
      mimeType: "application/json",
    },
    {
      uri: "herd://hosts",
      name: "hosts",
      title: "Hosts",
      description: "Every host with UP/DOWN from the probe cache, as last probed (JSON); never probes.",
      mimeType: "application/json",
    },
  ];
  for (const svc of app.services.list()) {
    out.push({
      uri: `herd://services/${svc.name}/logs`,
      name: `${svc.name} logs`,
      title: `Logs of ${svc.name}`,
      description: `The last ${LOG_LINES} lines of service '${svc.name}' (stderr, non-protocol stdout, supervisor notes).`,
      mimeType: "text/plain",
    });
  }
  return out;
}

/** The log resource of any service, by name. */
export function listResourceTemplates(): ResourceTemplateEntry[] {
  return [
    {
      uriTemplate: "herd://services/{name}/logs",
      name: "service logs",
      title: "Logs of a service",
      description: `The last ${LOG_LINES} log lines of a loaded service, one per line: time, stream, text.`,
      mimeType: "text/plain",
    },
  ];
}

/** Reads one resource now; throws ResourceNotFound with what to do for an unknown URI or service. */
export async function readResource(app: App, uri: string): Promise<ResourceText> {
  if (uri === "herd://services") {
    const services = app.services.list().map((s) => {
      const { tools: _tools, ...info } = s.info();
      return info;
    });
    return json(uri, { services });
  }
  if (uri === "herd://hosts") return json(uri, hostsSnapshot(app));
  const m = LOGS.exec(uri);
  if (m) {
    const name = m[1]!;
    const svc = app.services.get(name) as LogSource | undefined;
    if (!svc) {
      throw new ResourceNotFound(`no service named '${name}' is loaded, so ${uri} does not exist; read herd://services for the loaded ones`);
    }
    const lines = svc.readLogs ? await svc.readLogs(LOG_LINES) : (svc.logs?.tail(LOG_LINES) ?? []);
    const text = lines.map((l) => `${l.time} ${l.stream} ${l.text}`).join("\n");
    return { uri, mimeType: "text/plain", text };
  }
  throw new ResourceNotFound(
    `unknown resource '${uri}': mcp-herd serves herd://services, herd://hosts and herd://services/{name}/logs (resources/list shows them)`,
  );
}

/** True for mcp-herd's own URIs (herd://): never routed to a service. */
export function isOwnUri(uri: string): boolean {
  return uri.startsWith("herd://");
}

/** Completion of our own template: the names of loaded services for {name}; nothing for anything else. */
export function completeOwn(app: App, uriTemplate: string, argument: { name: string; value: string }): { values: string[]; total: number; hasMore: boolean } {
  const names = uriTemplate === "herd://services/{name}/logs" && argument.name === "name" ? app.services.list().map((s) => s.name) : [];
  const values = names.filter((n) => n.startsWith(argument.value));
  return { values: values.slice(0, 100), total: values.length, hasMore: values.length > 100 };
}

/** Hosts from the probe cache as they are now; a host not probed yet is UNKNOWN (remote_list_hosts probes). */
function hostsSnapshot(app: App): Record<string, unknown> {
  const cached = new Map(app.hosts.probes.cached().map((s) => [s.name, s]));
  const hosts = app.hosts.registry.names().map((name) => {
    const s = cached.get(name);
    const host = app.hosts.registry.get(name);
    if (!s) return { name, state: "UNKNOWN", paths: host?.paths ?? [], origin: host?.origin };
    return {
      name,
      state: s.state,
      ...(s.via ? { via: s.via } : {}),
      ...(s.error ? { error: s.error } : {}),
      since: s.since,
      checked_at: s.checked_at,
      paths: s.paths.map((p) => p.kind),
      origin: s.origin,
    };
  });
  return { hosts, probe_ttl_s: app.hosts.ttlSeconds };
}

function json(uri: string, value: unknown): ResourceText {
  return { uri, mimeType: "application/json", text: JSON.stringify(value, null, 2) };
}

/** At most this many URIs of one listen stream are followed at the services (the rest get no updates). */
export const MAX_FOLLOWED_URIS = 256;

// Why: a 2026-07-28 client asks for a resource's updates on its listen stream, not with resources/subscribe;
// the owning service only sends them while someone subscribed there, so the stream holds a subscription.
/** Subscribes at the owning services to the URIs a listen stream follows (ours need none); the returned release drops them. */
export function followResources(content: ServiceCatalog, uris: readonly string[], onError: (uri: string, e: Error) => void): () => void {
  return holdAll(content, uris.filter((uri) => !isOwnUri(uri)), (uri) => content.subscribe(uri), onError);
}

/** The same for a listen stream of a service's own endpoint (/services/<name>/mcp): every URI is held at that service. */
export function followServiceResources(content: ServiceCatalog, service: string, uris: readonly string[], onError: (uri: string, e: Error) => void): () => void {
  return holdAll(content, uris, (uri) => content.hold(service, uri).then(() => service), onError);
}

// Holds each URI (at most MAX_FOLLOWED_URIS) at the service `hold` resolves to; the release unholds each one held.
function holdAll(content: ServiceCatalog, uris: readonly string[], hold: (uri: string) => Promise<string>, onError: (uri: string, e: Error) => void): () => void {
  const held = [...new Set(uris)].slice(0, MAX_FOLLOWED_URIS).map((uri) =>
    hold(uri).then(
      (service) => ({ service, uri }),
      (e: Error) => {
        onError(uri, e);
        return undefined;
      },
    ),
  );
  let released = false;
  return () => {
    if (released) return;
    released = true;
    for (const h of held) void h.then((at) => (at === undefined ? undefined : content.unhold(at.service, at.uri)));
  };
}
