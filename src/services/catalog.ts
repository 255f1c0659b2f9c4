import { TransportError } from "../backends/backend.js";
import type { ClientLink } from "../backends/mcp/client-link.js";
import type { Logger } from "../log.js";
import { CatalogError, INTERNAL_ERROR, INVALID_PARAMS, RESOURCE_NOT_FOUND } from "./catalog-page.js";
import type { ServiceRegistry } from "./registry.js";
import { ServiceError, type Supervised } from "./service-types.js";
import { decideOwners, type Owners } from "./catalog-owners.js";

type Json = Record<string, unknown>;
type Kind = "resources" | "prompts";

const MAX_PAGES = 100;
/** Most entries of one kind kept per service: a child cannot make every session's list unbounded. */
const MAX_ITEMS = 10_000;
const LIST_TIMEOUT_MS = 15_000;

interface Snapshot {
  svc: Supervised;
  /** Load order: of two services claiming one URI, the lower order owns it. */
  order: number;
  running: boolean;
  resources: Json[];
  templates: Json[];
  prompts: Json[];
  /** Bumped by every refresh and stop, so a late answer never overwrites a newer state. */
  gen: number;
  loading?: Promise<void>;
}

export interface CatalogOptions {
  log: Logger;
  /** When mcp-herd started, and how long the first lists may wait for the start-up services. */
  startedAt: number;
  startupWaitMs: number;
}

/** Forwarded request options: cancellation from the client's request, and the session a child's own requests meanwhile go to. */
export interface ForwardOptions {
  signal?: AbortSignal;
  client?: ClientLink;
}

/**
 * The resources, resource templates and prompts of every running service, and who owns which URI,
 * template and prompt: what /mcp and stdio serve besides tools, and where each request is routed.
 */
export class ServiceCatalog {
  private readonly snaps = new Map<string, Snapshot>();
  private nextOrder = 0;
  private owners: Owners = decideOwners([]);
  private signatures: Record<Kind, string> = { resources: "", prompts: "" };
  private readonly changeListeners = new Set<(kind: Kind) => void>();
  private readonly updateListeners = new Set<(uri: string) => void>();
  /** Followers of a URI at a service, keyed by subKey(service, uri). */
  private readonly subscribers = new Map<string, number>();
  private readonly reported = new Set<string>();
  private gate?: Promise<void>;

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly opts: CatalogOptions,
  ) {
    registry.onChange(() => this.sync());
    registry.onNotification((service, method, params) => this.onServiceNotification(service, method, params));
    this.sync();
  }

  /** Resolves once the services from config and the state file are running with their lists fetched, or at startupWaitSeconds. */
  ready(): Promise<void> {
    return (this.gate ??= this.waitForStart());
  }

  /** Resources of all running services, each URI once (the first loaded service owns a URI two of them list). */
  resources(): Json[] {
    return this.owners.resources;
  }

  templates(): Json[] {
    return this.owners.templates;
  }

  /** Prompts as `<service>__<prompt>`. */
  prompts(): Json[] {
    return this.owners.prompts;
  }

  /** Fires after the resources (and templates) or the prompts of some service changed. */
  onChange(listener: (kind: Kind) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Fires for a child's notifications/resources/updated of a URI someone subscribed to. */
  onResourceUpdated(listener: (uri: string) => void): () => void {
    this.updateListeners.add(listener);
    return () => this.updateListeners.delete(listener);
  }

  /** The service that serves a URI: one that listed it, else the first whose template matches. */
  ownerOf(uri: string): string | undefined {
    const owner = this.owners.uriOwner.get(uri);
    if (owner !== undefined) return owner;
    return this.owners.templateOwners.find((t) => t.match?.(uri))?.service;
  }

  // Like the first lists, a request routed by owner right after start waits (bounded) for the start-up services.

  /** resources/read at the owning service; an unknown URI is -32602. */
  async read(uri: string, opts: ForwardOptions = {}): Promise<Json> {
    await this.ready();
    return this.forward(this.resourceOwner(uri), "resources/read", { uri }, opts, RESOURCE_NOT_FOUND);
  }

  /** prompts/get at the owning service, under the service's own prompt name. */
  async getPrompt(params: Json, opts: ForwardOptions = {}): Promise<Json> {
    await this.ready();
    const hit = this.prompt(String(params.name));
    return this.forward(hit.service, "prompts/get", { ...strip(params), name: hit.name }, opts, INVALID_PARAMS);
  }

  /** completion/complete for a prompt (our prefixed name) or a resource template, at the owning service. */
  async complete(params: Json, opts: ForwardOptions = {}): Promise<Json> {
    await this.ready();
    const ref = (params.ref ?? {}) as Json;
    let service: string;
    let forwarded: Json;
    if (ref.type === "ref/prompt") {
      const hit = this.prompt(String(ref.name));
      service = hit.service;
      forwarded = { ...strip(params), ref: { ...ref, name: hit.name } };
    } else if (ref.type === "ref/resource") {
      const uri = String(ref.uri);
      service = this.owners.templateOwners.find((t) => t.template === uri)?.service ?? this.resourceOwner(uri);
      forwarded = strip(params);
    } else {
      throw new CatalogError(INVALID_PARAMS, `completion/complete: ref.type must be 'ref/prompt' or 'ref/resource', got '${String(ref.type)}'`);
    }
    if (!this.registry.get(service)?.capabilities?.completions) return { completion: { values: [], total: 0, hasMore: false } };
    return this.forward(service, "completion/complete", forwarded, opts, INVALID_PARAMS);
  }

  /** Counts a session's subscription; the first one for a URI subscribes at the owning service (when it supports it). Resolves to that service (unhold it there). */
  async subscribe(uri: string, opts: ForwardOptions = {}): Promise<string> {
    await this.ready();
    const service = this.resourceOwner(uri);
    await this.hold(service, uri, opts);
    return service;
  }

  /**
   * Counts one follower of a URI at a named service (a subscription through the owner, or a listen stream of
   * that service's own endpoint): the first subscribes there (when it supports it), the others share it.
   */
  async hold(service: string, uri: string, opts: ForwardOptions = {}): Promise<void> {
    const key = subKey(service, uri);
    const count = (this.subscribers.get(key) ?? 0) + 1;
    this.subscribers.set(key, count);
    if (count > 1 || !this.registry.get(service)?.capabilities?.resources?.subscribe) return;
    try {
      await this.forward(service, "resources/subscribe", { uri }, opts, RESOURCE_NOT_FOUND);
    } catch (e) {
      this.release(key);
      throw e;
    }
  }

  /** Drops one follower counted by hold() or subscribe(); the last one unsubscribes at the service. */
  async unhold(service: string, uri: string): Promise<void> {
    if (!this.release(subKey(service, uri)) || !this.registry.get(service)?.capabilities?.resources?.subscribe) return;
    await this.forward(service, "resources/unsubscribe", { uri }, {}, RESOURCE_NOT_FOUND).catch((e: Error) =>
      this.opts.log.debug("unsubscribe at the service failed", { service, uri, error: e.message }),
    );
  }

  // True when this was the last follower of the URI at that service.
  private release(key: string): boolean {
    const count = this.subscribers.get(key);
    if (count === undefined) return false;
    if (count > 1) {
      this.subscribers.set(key, count - 1);
      return false;
    }
    this.subscribers.delete(key);
    return true;
  }

  private resourceOwner(uri: string): string {
    const service = this.ownerOf(uri);
    if (service === undefined) {
      throw new CatalogError(
        RESOURCE_NOT_FOUND,
        `unknown resource '${uri}': no running service lists it or has a template matching it (resources/list and resources/templates/list show what there is)`,
        { uri },
      );
    }
    return service;
  }

  private prompt(name: string): { service: string; name: string } {
    const hit = this.owners.promptIndex.get(name);
    if (hit) return hit;
    throw new CatalogError(INVALID_PARAMS, this.whyNoPrompt(name), { name });
  }

  private whyNoPrompt(name: string): string {
    const svc = this.registry
      .list()
      .filter((s) => name.startsWith(`${s.name}__`))
      .sort((a, b) => b.name.length - a.name.length)[0];
    if (!svc) {
      const guess = name.includes("__") ? name.slice(0, name.indexOf("__")) : undefined;
      return guess
        ? `unknown prompt '${name}': no service '${guess}' is loaded (it was unloaded, or never loaded); prompts/list shows the prompts there are`
        : `unknown prompt '${name}': prompts are served as <service>__<prompt>; prompts/list shows them`;
    }
    if (svc.state !== "running") return `prompt '${name}': service '${svc.name}' is ${svc.state}${errorOf(svc)}; service_list and service_logs show why`;
    return `unknown prompt '${name}': service '${svc.name}' has no prompt '${name.slice(svc.name.length + 2)}'; prompts/list shows its prompts`;
  }

  private async forward(service: string, method: string, params: Json, opts: ForwardOptions, notFound: number): Promise<Json> {
    const svc = this.registry.get(service);
    if (!svc?.request) throw new CatalogError(notFound, `service '${service}' is not loaded, or is not served here; service_list shows the loaded ones`);
    try {
      return await svc.request(method, params, { signal: opts.signal, client: opts.client });
    } catch (e) {
      if (e instanceof ServiceError) throw new CatalogError(notFound, e.message);
      if (e instanceof TransportError) throw new CatalogError(INTERNAL_ERROR, e.message.split("\n")[0]!);
      throw e;
    }
  }

  private sync(): void {
    const seen = new Set<string>();
    let dropped = false;
    for (const svc of this.registry.list()) {
      seen.add(svc.name);
      let snap = this.snaps.get(svc.name);
      if (snap && snap.svc !== svc) {
        dropped = forget(snap) || dropped;
        snap = undefined;
      }
      if (!snap) {
        snap = { svc, order: this.nextOrder++, running: false, resources: [], templates: [], prompts: [], gen: 0 };
        this.snaps.set(svc.name, snap);
      }
      if (svc.state === "running") this.registry.notes.clear(svc.name, "startup");
      // A service on another host has its capabilities once its endpoint there answers, a moment after it runs.
      const up = svc.state === "running" && typeof svc.request === "function" && svc.capabilities !== undefined;
      if (up && !snap.running) {
        snap.running = true;
        this.refresh(snap);
      } else if (!up && snap.running) {
        dropped = forget(snap) || dropped;
      }
    }
    for (const [name, snap] of this.snaps) {
      if (seen.has(name)) continue;
      this.snaps.delete(name);
      dropped = forget(snap) || dropped;
    }
    if (dropped) this.rebuild();
  }

  private refresh(snap: Snapshot): void {
    const gen = ++snap.gen;
    const run = (async () => {
      const svc = snap.svc;
      const caps = svc.capabilities ?? {};
      const resources = caps.resources ? await this.listAll(svc, "resources/list", "resources") : [];
      const templates = caps.resources ? await this.listAll(svc, "resources/templates/list", "resourceTemplates") : [];
      const prompts = caps.prompts ? await this.listAll(svc, "prompts/list", "prompts") : [];
      if (gen !== snap.gen || this.snaps.get(svc.name) !== snap) return;
      Object.assign(snap, { resources, templates, prompts });
      this.rebuild();
      this.resubscribe(snap);
    })();
    const tracked: Promise<void> = run.finally(() => {
      if (snap.loading === tracked) snap.loading = undefined;
    });
    snap.loading = tracked;
  }

  private async listAll(svc: Supervised, method: string, key: string): Promise<Json[]> {
    const items: Json[] = [];
    let cursor: string | undefined;
    try {
      for (let page = 0; page < MAX_PAGES; page++) {
        const r = await svc.request!(method, cursor ? { cursor } : undefined, { timeoutMs: LIST_TIMEOUT_MS });
        const got = r[key];
        if (Array.isArray(got)) items.push(...got.filter((x): x is Json => typeof x === "object" && x !== null));
        cursor = typeof r.nextCursor === "string" && r.nextCursor ? r.nextCursor : undefined;
        if (items.length >= MAX_ITEMS) {
          if (items.length > MAX_ITEMS || cursor) this.opts.log.warn(`service '${svc.name}': ${method} has more than ${MAX_ITEMS} entries; serving the first ${MAX_ITEMS}`);
          return items.slice(0, MAX_ITEMS);
        }
        if (!cursor) break;
      }
    } catch (e) {
      this.opts.log.warn(`service '${svc.name}': ${method} failed; serving what it returned so far`, { error: (e as Error).message.split("\n")[0] });
    }
    return items;
  }

  // A service that restarted forgot its subscriptions: subscribe again to the URIs sessions still follow.
  private resubscribe(snap: Snapshot): void {
    if (!snap.svc.capabilities?.resources?.subscribe) return;
    for (const { service, uri } of [...this.subscribers.keys()].map(splitKey)) {
      if (service !== snap.svc.name) continue;
      this.forward(snap.svc.name, "resources/subscribe", { uri }, {}, RESOURCE_NOT_FOUND).catch((e: Error) =>
        this.opts.log.warn(`service '${snap.svc.name}': subscribing again to ${uri} failed`, { error: e.message }),
      );
    }
  }

  private onServiceNotification(service: string, method: string, params: Json | undefined): void {
    if (method === "notifications/resources/updated") {
      const uri = params?.uri;
      if (typeof uri === "string" && this.subscribers.has(subKey(service, uri)) && this.ownerOf(uri) === service) for (const l of this.updateListeners) l(uri);
      return;
    }
    const snap = this.snaps.get(service);
    if (snap?.running) this.refresh(snap);
  }

  // Ownership is decided again from scratch on every change: earlier loaded services win every clash.
  private rebuild(): void {
    const running = [...this.snaps.values()].filter((s) => s.running).sort((a, b) => a.order - b.order);
    const o = decideOwners(running.map((s) => ({ service: s.svc.name, resources: s.resources, templates: s.templates, prompts: s.prompts })));
    for (const s of this.snaps.values()) {
      const service = s.svc.name;
      const lost = o.clashes.get(service);
      if (!lost) {
        this.registry.notes.clear(service, "clash");
        continue;
      }
      this.registry.notes.set(service, "clash", `not served, an earlier service has them: ${summary(lost)}`);
      for (const what of lost) {
        const key = `${service}\u0000${what}`;
        if (this.reported.has(key)) continue;
        this.reported.add(key);
        this.opts.log.warn(`service '${service}': ${what.replace(/ \(served by (.*)\)$/, " is already served by $1")}; requests for it go there`);
      }
    }
    this.owners = o;
    const signatures = { resources: JSON.stringify([o.resources, o.templates]), prompts: JSON.stringify(o.prompts) };
    for (const kind of ["resources", "prompts"] as const) {
      if (signatures[kind] === this.signatures[kind]) continue;
      this.signatures[kind] = signatures[kind];
      for (const l of this.changeListeners) l(kind);
    }
  }

  private async waitForStart(): Promise<void> {
    const left = this.opts.startedAt + this.opts.startupWaitMs - Date.now();
    if (left <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), left);
      timer.unref?.();
    });
    const settled = this.registry
      .whenStarted()
      .then(() => this.idle())
      .then(() => "settled" as const);
    const outcome = await Promise.race([settled, timeout]);
    clearTimeout(timer);
    if (outcome === "timeout") this.reportLeftOut();
  }

  private async idle(): Promise<void> {
    for (let round = 0; round < 10; round++) {
      const loading = [...this.snaps.values()].map((s) => s.loading).filter((p) => p !== undefined);
      if (loading.length === 0) return;
      await Promise.all(loading);
    }
  }

  private reportLeftOut(): void {
    const seconds = Math.round(this.opts.startupWaitMs / 1000);
    const late = this.registry.list().filter((s) => s.state !== "running");
    for (const s of late) {
      this.registry.notes.set(
        s.name,
        "startup",
        `left out of the first lists: still ${s.state}${errorOf(s)} after startupWaitSeconds (${seconds} s); it is added with list_changed once running`,
      );
    }
    if (late.length) this.opts.log.warn(`startupWaitSeconds (${seconds} s) passed: answering the first lists without ${late.map((s) => `'${s.name}' (${s.state})`).join(", ")}`);
  }
}

// Empties a snapshot; true when it had something to show.
function forget(snap: Snapshot): boolean {
  const had = snap.running && snap.resources.length + snap.templates.length + snap.prompts.length > 0;
  snap.running = false;
  snap.gen++;
  snap.resources = snap.templates = snap.prompts = [];
  return had;
}

// A forwarded request carries the client's own parameters, without its _meta (its progress token means nothing to the child).
function strip(params: Json): Json {
  const { _meta: _ignored, ...rest } = params;
  return rest;
}

function errorOf(svc: Supervised): string {
  const error = svc.info().error;
  return error ? ` (${error.split("\n")[0]})` : "";
}

function summary(items: string[]): string {
  return items.length <= 5 ? items.join(", ") : `${items.slice(0, 5).join(", ")} and ${items.length - 5} more`;
}

function subKey(service: string, uri: string): string {
  return `${service}\u0000${uri}`;
}

function splitKey(key: string): { service: string; uri: string } {
  const at = key.indexOf("\u0000");
  return { service: key.slice(0, at), uri: key.slice(at + 1) };
}
