import type { JSONRPCMessage } from "@modelcontextprotocol/client";

/** Limits of the notification flow from one child (tests and tuning; the defaults suit people). */
export interface FlowLimits {
  /** Progress notifications per token: a burst, then this many a second (latest wins in between). */
  progressBurst: number;
  progressPerSecond: number;
  /** Notifications whose latest copy says it all (a list changed, a resource was updated), per kind. */
  stateBurst: number;
  statePerSecond: number;
  /** Every other notification, all tokens together. */
  otherBurst: number;
  otherPerSecond: number;
  /** Waiting notifications beyond these are dropped (and counted). */
  maxQueued: number;
  maxQueuedBytes: number;
  /** How often a flood is summed up in the service's log. */
  noteEveryMs: number;
}

/** The flow limits when none are given: ~20 progress updates a second per call, a bounded queue for the rest. */
export const DEFAULT_FLOW: FlowLimits = {
  progressBurst: 20,
  progressPerSecond: 20,
  stateBurst: 5,
  statePerSecond: 2,
  otherBurst: 200,
  otherPerSecond: 200,
  maxQueued: 1000,
  maxQueuedBytes: 8 * 1024 * 1024,
  noteEveryMs: 5000,
};

const MAX_LANES = 1024;
const MAX_REQUESTS = 10_000;
const PUMP_MS = 25;
const PUMP_BATCH = 256;

type Id = string | number;
type Raw = Record<string, unknown> & { id?: Id; method?: string; params?: Record<string, unknown> };

class Bucket {
  private tokens: number;
  private at = Date.now();

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
  ) {
    this.tokens = burst;
  }

  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perSecond) / 1000);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

interface Lane {
  bucket: Bucket;
  pending?: Raw;
}

/**
 * Messages from a child on their way to the SDK client. Responses and requests pass at once and
 * never wait behind notifications; progress is coalesced per token and list/resource changes per
 * kind (latest wins, a bounded rate); other notifications go through a bounded, rate-limited
 * queue. What is dropped or coalesced is counted and summed up through `note`. A response waits one
 * turn after a notification delivered in the same turn: the SDK handles notifications a microtask
 * later, and the response would otherwise remove the progress handler first.
 */
export class InboundFlow {
  private readonly lanes = new Map<string, Lane>();
  private readonly fifo: { msg: Raw; bytes: number }[] = [];
  private fifoBytes = 0;
  private readonly others: Bucket;
  private readonly tokenOf = new Map<Id, unknown>();
  private readonly urgent: Raw[] = [];
  private turnBusy = false;
  private turnScheduled = false;
  private pumpTimer?: NodeJS.Timeout;
  private noteTimer?: NodeJS.Timeout;
  private closed = false;
  private readonly counts = { received: 0, coalesced: 0, dropped: 0 };

  constructor(
    private readonly deliver: (msg: Raw) => void,
    private readonly note: (text: string) => void,
    private readonly limits: FlowLimits = DEFAULT_FLOW,
  ) {
    this.others = new Bucket(limits.otherBurst, limits.otherPerSecond);
  }

  /** An outgoing message: a request's progress token is remembered until its response; a cancellation forgets it. */
  sent(message: JSONRPCMessage): void {
    const m = message as Raw;
    if (m.method === "notifications/cancelled") {
      this.forget(m.params?.requestId as Id | undefined);
      return;
    }
    const token = (m.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
    if (m.id === undefined || m.method === undefined || token === undefined) return;
    if (this.tokenOf.size >= MAX_REQUESTS) this.forget(this.tokenOf.keys().next().value);
    this.tokenOf.set(m.id, token);
  }

  /** One parsed message from the child (`bytes`: its line's length). */
  push(msg: Raw, bytes: number): void {
    if (this.closed) return;
    if (msg.id !== undefined || msg.method === undefined) return this.pass(msg);
    this.counts.received++;
    if (msg.method === "notifications/progress") {
      const token = msg.params?.progressToken;
      // Progress for a request we never sent (or one already answered) has no one to go to.
      if (!this.lanes.has(progressKey(token)) && !isKnownToken(this.tokenOf, token)) return this.count("dropped");
      return this.lane(progressKey(token), msg, this.limits.progressBurst, this.limits.progressPerSecond);
    }
    const key = stateKey(msg);
    if (key !== undefined) return this.lane(key, msg, this.limits.stateBurst, this.limits.statePerSecond);
    if (this.fifo.length === 0 && this.others.take()) return this.notify(msg);
    if (this.fifo.length >= this.limits.maxQueued || this.fifoBytes + bytes > this.limits.maxQueuedBytes) return this.count("dropped");
    this.fifo.push({ msg, bytes });
    this.fifoBytes += bytes;
    this.schedulePump();
  }

  /** Delivers the responses still waiting and drops the queued notifications (the connection is closing). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const m of this.urgent.splice(0)) this.deliver(m);
    for (const lane of this.lanes.values()) if (lane.pending) this.counts.dropped++;
    this.counts.dropped += this.fifo.length;
    this.lanes.clear();
    this.fifo.length = 0;
    this.tokenOf.clear();
    clearTimeout(this.pumpTimer);
    clearTimeout(this.noteTimer);
    this.sumUp();
  }

  private pass(msg: Raw): void {
    if (msg.method === undefined && msg.id !== undefined) {
      const token = this.tokenOf.get(msg.id);
      this.tokenOf.delete(msg.id);
      if (token !== undefined) {
        const key = progressKey(token);
        const pending = this.lanes.get(key)?.pending;
        this.lanes.delete(key);
        // The last progress of a call goes out before its result, whatever the rate.
        if (pending) this.notify(pending);
      }
    }
    if (this.turnBusy || this.urgent.length > 0) {
      this.urgent.push(msg);
      this.scheduleTurn();
    } else this.deliver(msg);
  }

  private lane(key: string, msg: Raw, burst: number, perSecond: number): void {
    let lane = this.lanes.get(key);
    if (!lane) {
      if (this.lanes.size >= MAX_LANES) this.pruneIdle();
      if (this.lanes.size >= MAX_LANES) return this.count("dropped");
      lane = { bucket: new Bucket(burst, perSecond) };
      this.lanes.set(key, lane);
    }
    if (!lane.pending && lane.bucket.take()) return this.notify(msg);
    if (lane.pending) this.count("coalesced");
    lane.pending = msg;
    this.schedulePump();
  }

  private notify(msg: Raw): void {
    this.deliver(msg);
    this.turnBusy = true;
    this.scheduleTurn();
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      this.turnBusy = false;
      if (this.closed) return;
      for (const m of this.urgent.splice(0)) this.deliver(m);
    });
  }

  private schedulePump(): void {
    if (this.pumpTimer || this.closed) return;
    this.pumpTimer = setTimeout(() => this.pump(), PUMP_MS);
    this.pumpTimer.unref?.();
  }

  private pump(): void {
    this.pumpTimer = undefined;
    if (this.closed) return;
    let sent = 0;
    let waiting = false;
    for (const lane of this.lanes.values()) {
      if (!lane.pending) continue;
      if (sent < PUMP_BATCH && lane.bucket.take()) {
        const m = lane.pending;
        lane.pending = undefined;
        this.notify(m);
        sent++;
      } else waiting = true;
    }
    while (sent < PUMP_BATCH && this.fifo.length > 0 && this.others.take()) {
      const { msg, bytes } = this.fifo.shift()!;
      this.fifoBytes -= bytes;
      this.notify(msg);
      sent++;
    }
    if (waiting || this.fifo.length > 0) this.schedulePump();
  }

  // Idle change lanes only keep a rate: dropping them when many kinds were seen costs nothing but a fresh burst.
  private pruneIdle(): void {
    for (const [key, lane] of this.lanes) if (!lane.pending && key.startsWith("s")) this.lanes.delete(key);
  }

  private forget(id: Id | undefined): void {
    if (id === undefined) return;
    const token = this.tokenOf.get(id);
    this.tokenOf.delete(id);
    if (token !== undefined) this.lanes.delete(progressKey(token));
  }

  private count(what: "coalesced" | "dropped"): void {
    this.counts[what]++;
    if (this.noteTimer || this.closed) return;
    this.noteTimer = setTimeout(() => {
      this.noteTimer = undefined;
      this.sumUp();
    }, this.limits.noteEveryMs);
    this.noteTimer.unref?.();
  }

  private sumUp(): void {
    const { received, coalesced, dropped } = this.counts;
    if (coalesced === 0 && dropped === 0) return;
    const l = this.limits;
    this.note(
      `[mcp-herd: notification flood: ${received} notification(s) received; ${coalesced} coalesced (latest kept; progress at most ` +
        `${l.progressPerSecond}/s per call), ${dropped} dropped (others at most ${l.otherPerSecond}/s, queue ${l.maxQueued} messages / ${l.maxQueuedBytes >> 20} MiB)]`,
    );
    this.counts.received = this.counts.coalesced = this.counts.dropped = 0;
  }
}

function progressKey(token: unknown): string {
  return `p\u0000${typeof token}\u0000${String(token)}`;
}

// Notifications whose latest copy says all there is: a list changed, a resource was updated.
function stateKey(msg: Raw): string | undefined {
  if (msg.method?.endsWith("/list_changed")) return `s\u0000${msg.method}`;
  if (msg.method === "notifications/resources/updated") return `s\u0000${msg.method}\u0000${String(msg.params?.uri)}`;
  return undefined;
}

function isKnownToken(tokenOf: Map<Id, unknown>, token: unknown): boolean {
  for (const t of tokenOf.values()) if (t === token) return true;
  return false;
}
