import type { Client, McpSubscription, SubscriptionFilter } from "@modelcontextprotocol/client";
import type { Logger } from "../log.js";

/** The first wait before a dropped stream is opened again; it doubles on each failure, up to MAX_REOPEN_MS. */
export const FIRST_REOPEN_MS = 250;
export const MAX_REOPEN_MS = 10_000;
const STOP_WAIT_MS = 1000;
/** How long a connection waits for its list-change stream before it is served without it (tried again meanwhile). */
export const LISTEN_WAIT_MS = 5000;

// Why: 2026-07-28 has no resources/subscribe and no pushed list changes: a server sends them only on a
// subscriptions/listen stream that names them. Our catalog subscribes the 2025 way, so we translate; and a
// stream ends with its connection (the server restarts), so we open it again while we still want it.
/**
 * The listen streams one connection to a 2026-07-28 server holds: its list changes, and one stream per
 * subscribed resource URI. A stream that ends without our asking is opened again with bounded backoff until stop().
 */
export class ListenSubscriptions {
  private readonly streams = new Map<string, Held>();
  private changes?: Held;
  private stopped = false;

  constructor(
    private readonly client: Client,
    private readonly opts: { log?: Logger; where?: string } = {},
  ) {}

  /** True when `method` is a subscription request this connection must translate (a 2026-07-28 one). */
  handles(method: string): boolean {
    return (method === "resources/subscribe" || method === "resources/unsubscribe") && this.client.getProtocolEra() === "modern";
  }

  /**
   * Opens the stream of the list changes the server can announce (none when it announces none), waiting at
   * most `waitMs` for it. The stream is a side channel: a server whose stream does not open (it refuses, or
   * answers with no SSE stream and so never acknowledges) is still served; the stream is tried again in the
   * background with the same backoff as a dropped one, and a warning says its list changes are not followed.
   */
  async listenForChanges(timeoutMs: number, waitMs = Math.min(timeoutMs, LISTEN_WAIT_MS)): Promise<void> {
    const caps = this.client.getServerCapabilities() ?? {};
    const filter: SubscriptionFilter = {
      ...(caps.tools?.listChanged ? { toolsListChanged: true } : {}),
      ...(caps.prompts?.listChanged ? { promptsListChanged: true } : {}),
      ...(caps.resources?.listChanged ? { resourcesListChanged: true } : {}),
    };
    if (Object.keys(filter).length === 0 || this.changes) return;
    const held = (this.changes = this.held(filter, timeoutMs, "list changes"));
    const first = held.open().then(
      () => undefined,
      (e: Error) => e,
    );
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([first, new Promise<"slow">((r) => (timer = setTimeout(() => r("slow"), waitMs)))]);
    clearTimeout(timer);
    if (outcome === undefined) return;
    const why = outcome === "slow" ? `not acknowledged within ${waitMs} ms` : outcome.message;
    this.opts.log?.warn("the server's list-change stream (subscriptions/listen) did not open; serving it without following its list changes, and trying again in the background", {
      at: this.opts.where,
      error: why,
    });
    // A first attempt still waiting is left to end by itself (its own timeout); then the stream is tried again.
    void first.then((e) => e && held.reopenLater());
  }

  /** The URIs subscribed now (to carry over to a new connection). */
  uris(): string[] {
    return [...this.streams.keys()];
  }

  /** Subscribes to each URI, as resources/subscribe would, without waiting: a failure is retried like a dropped stream. */
  carry(uris: Iterable<string>, timeoutMs: number): void {
    for (const uri of uris) {
      if (this.streams.has(uri) || this.stopped) continue;
      const held = this.held({ resourceSubscriptions: [uri] }, timeoutMs, uri);
      this.streams.set(uri, held);
      held.open().catch(() => held.reopenLater());
    }
  }

  /** Opens (subscribe) or closes (unsubscribe) the URI's listen stream; answers as the 2025 request would, with {}. */
  async request(method: string, params: Record<string, unknown> | undefined, timeoutMs: number): Promise<Record<string, unknown>> {
    const uri = params?.uri;
    if (typeof uri !== "string") throw new Error(`${method}: params.uri must be a string`);
    if (method === "resources/subscribe") {
      if (!this.streams.has(uri)) {
        const held = this.held({ resourceSubscriptions: [uri] }, timeoutMs, uri);
        this.streams.set(uri, held);
        try {
          await held.open();
        } catch (e) {
          if (this.streams.get(uri) === held) this.streams.delete(uri);
          await held.close();
          throw e;
        }
      }
      return {};
    }
    const held = this.streams.get(uri);
    this.streams.delete(uri);
    await held?.close();
    return {};
  }

  /** Closes every stream for good (the connection is dropped, or the service unloaded): none is opened again. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.streams.values(), ...(this.changes ? [this.changes] : [])];
    this.streams.clear();
    this.changes = undefined;
    // Each close tells the server (notifications/cancelled); one that cannot be reached does not hold up the stop.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(all.map((h) => h.close().catch(() => undefined))), new Promise((r) => (timer = setTimeout(r, STOP_WAIT_MS)))]);
    clearTimeout(timer);
  }

  private held(filter: SubscriptionFilter, timeoutMs: number, what: string): Held {
    return new Held(this.client, filter, timeoutMs, () => this.stopped, (e, delay) =>
      this.opts.log?.debug("listen stream could not be opened again; retrying", { at: this.opts.where, stream: what, error: e.message, retry_ms: delay }),
    );
  }
}

/** One listen stream we want open: opened again after it ends by itself, until closed. */
class Held {
  private sub?: McpSubscription;
  private timer?: NodeJS.Timeout;
  private delay = FIRST_REOPEN_MS;
  private closed = false;

  constructor(
    private readonly client: Client,
    private readonly filter: SubscriptionFilter,
    private readonly timeoutMs: number,
    private readonly stopped: () => boolean,
    private readonly onRetry: (e: Error, delayMs: number) => void,
  ) {}

  async open(): Promise<void> {
    if (this.gone) return;
    const sub = await this.client.listen(this.filter, { timeout: this.timeoutMs });
    if (this.gone) {
      await sub.close();
      return;
    }
    this.sub = sub;
    this.delay = FIRST_REOPEN_MS;
    // 'local' is our own close; 'remote' (the connection dropped) and 'graceful' (the server shut down) are not.
    void sub.closed.then((how) => {
      if (how === "local" || this.sub !== sub) return;
      this.sub = undefined;
      this.reopenLater();
    });
  }

  /** Schedules the next attempt (FIRST_REOPEN_MS, doubling, at most MAX_REOPEN_MS apart). */
  reopenLater(): void {
    if (this.gone || this.timer) return;
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, MAX_REOPEN_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.open().catch((e: Error) => {
        this.onRetry(e, this.delay);
        this.reopenLater();
      });
    }, wait);
    this.timer.unref?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const sub = this.sub;
    this.sub = undefined;
    await sub?.close();
  }

  private get gone(): boolean {
    return this.closed || this.stopped();
  }
}
