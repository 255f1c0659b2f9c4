import { randomBytes } from "node:crypto";
import { CLIENT_CAPABILITIES_META_KEY, inputRequired, ProtocolErrorCode, type InputRequiredResult, type InputRequests, type Server, type ServerContext } from "@modelcontextprotocol/server";
import type { App } from "./app.js";
import type { ClientLink } from "./backends/mcp/client-link.js";
import { RemoteRpcError } from "./backends/mcp/passthrough.js";
import type { ToolContext } from "./tools/define.js";

// The requests a 2025-era service may push that 2026-07-28 carries as embedded input requests.
const EMBEDDED = new Set(["elicitation/create", "sampling/createMessage", "roots/list"]);
const MAX_WAITING = 256;
const STATE_PREFIX = "herd1.";
const MODERN_SINCE = "2026-07-28";
// RequestTimeout in the MCP SDKs: what a timed-out request answers.
const REQUEST_TIMEOUT = -32001;

interface Ask {
  method: string;
  params: Record<string, unknown> | undefined;
  timeoutMs: number;
  resolve(result: Record<string, unknown>): void;
  reject(e: Error): void;
}

type Outcome = { kind: "done"; result: unknown } | { kind: "failed"; error: unknown } | { kind: "asked" } | { kind: "aborted" };

/** What a bridged call runs with: the tool context (its client link is the bridge's, its signal outlives each round). */
export type BridgedContext = ToolContext;

/** One tools/call of a 2026-07-28 client whose service asked for input: alive across the client's rounds. */
class Waiting {
  id?: string;
  current: ToolContext;
  // Its own: on 2026-07-28 HTTP the first round's signal aborts once that round's response is sent.
  readonly controller = new AbortController();
  readonly queued: Ask[] = [];
  readonly sent = new Map<string, Ask>();
  readonly done: Promise<Outcome>;
  private wake?: () => void;
  private next = 0;
  resuming = false;
  /** The arguments as the call's continuation is bound to them (set when it first waits). */
  argsKey?: string;
  timer?: NodeJS.Timeout;

  constructor(
    readonly caller: string,
    readonly name: string,
    readonly args: Record<string, unknown>,
    first: ToolContext,
    readonly capabilities: Record<string, unknown> | undefined,
    run: (ctx: ToolContext) => Promise<unknown>,
  ) {
    this.current = first;
    const link: ClientLink = {
      session: `${caller}#modern-call`,
      capabilities: () => capabilities,
      request: (method, params, o) => this.ask(method, params, o),
      idle: () => undefined,
    };
    // The call outlives each round's request: its signal is ours, its progress goes to the round in flight.
    const ctx: ToolContext = { signal: this.controller.signal, caller, client: link, wantsProgress: first.wantsProgress, progress: (p) => this.current.progress(p) };
    this.done = run(ctx).then(
      (result): Outcome => ({ kind: "done", result }),
      (error: unknown): Outcome => ({ kind: "failed", error }),
    );
  }

  private ask(method: string, params: Record<string, unknown> | undefined, o: { signal: AbortSignal; timeoutMs: number }): Promise<Record<string, unknown>> {
    if (!EMBEDDED.has(method)) {
      return Promise.reject(
        new RemoteRpcError(
          ProtocolErrorCode.MethodNotFound,
          `mcp-herd: ${method} cannot reach a 2026-07-28 client: that revision has no server-to-client requests, and only elicitation/create, sampling/createMessage and roots/list have an input_required form`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const entry: Ask = { method, params, timeoutMs: o.timeoutMs, resolve, reject };
      this.queued.push(entry);
      o.signal.addEventListener("abort", () => {
        const i = this.queued.indexOf(entry);
        if (i >= 0) this.queued.splice(i, 1);
        reject(new Error(`${method} was cancelled by the service`));
      }, { once: true });
      this.wake?.();
    });
  }

  /** Waits for the call to end, the service to ask something, or the round's request to be abandoned. */
  async round(signal: AbortSignal): Promise<Outcome> {
    const asked = new Promise<Outcome>((resolve) => {
      if (this.queued.length > 0) resolve({ kind: "asked" });
      else this.wake = () => resolve({ kind: "asked" });
    });
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<Outcome>((resolve) => {
      onAbort = () => resolve({ kind: "aborted" });
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const first = await Promise.race([this.done, asked, aborted]);
      // Requests the service sends together go out in one round.
      if (first.kind === "asked") await new Promise((r) => setImmediate(r));
      return first;
    } finally {
      this.wake = undefined;
      signal.removeEventListener("abort", onAbort!);
    }
  }

  /** Moves the queued requests to the sent ones, keyed for the client's inputResponses. */
  takeQueued(): Record<string, { method: string; params?: Record<string, unknown> }> {
    const out: Record<string, { method: string; params?: Record<string, unknown> }> = {};
    for (const a of this.queued.splice(0)) {
      const key = `${a.method.split("/")[0]}-${++this.next}`;
      this.sent.set(key, a);
      out[key] = { method: a.method, ...(a.params ? { params: a.params } : {}) };
    }
    return out;
  }

  /** The longest a client may take to answer what was just sent. */
  deadlineMs(cap: number): number {
    return Math.min(cap, ...[...this.sent.values()].map((a) => a.timeoutMs));
  }

  failSent(e: Error): void {
    for (const a of this.sent.values()) a.reject(e);
    this.sent.clear();
  }
}

/**
 * 2026-07-28 clients get no pushed requests: a 2025-era service's sampling, elicitation or roots request
 * during a tools/call of such a client becomes that call's input_required result; the client's retry
 * (inputResponses, the requestState we minted) answers the service, and the call goes on.
 */
export class InputBridge {
  private readonly waiting = new Map<string, Waiting>();

  constructor(private readonly waitCapMs: number) {}

  /**
   * Opens (or resumes, from the retry's requestState) one tool call of a modern client; throws the wire
   * error for a requestState it does not know. The handle's step() gives its result or the next round.
   */
  open<R>(caller: string, name: string, args: Record<string, unknown>, ctx: ToolContext, extra: ServerContext, run: (ctx: ToolContext) => Promise<R>): { step(): Promise<R | InputRequiredResult> } {
    const w = this.resume(caller, name, args, ctx, extra) ?? new Waiting(caller, name, args, ctx, capabilitiesOf(extra), run);
    return {
      step: async () => {
        try {
          return (await this.step(w, extra.mcpReq.signal)) as R | InputRequiredResult;
        } finally {
          w.resuming = false;
        }
      },
    };
  }

  private resume(caller: string, name: string, args: Record<string, unknown>, ctx: ToolContext, extra: ServerContext): Waiting | undefined {
    const state = extra.mcpReq.requestState();
    if (state === undefined) return undefined;
    const id = typeof state === "string" && state.startsWith(STATE_PREFIX) ? state.slice(STATE_PREFIX.length) : undefined;
    const w = id === undefined ? undefined : this.waiting.get(id);
    // Another caller, another tool or other arguments never resume a call: the same answer as an unknown state.
    if (!w || w.caller !== caller || w.name !== name || w.argsKey !== JSON.stringify(args)) {
      throw new RemoteRpcError(
        ProtocolErrorCode.InvalidParams,
        `Invalid or expired requestState: mcp-herd has no call of '${name}' waiting for input under it (answered already, expired after its wait, or made by another client)`,
      );
    }
    if (w.resuming) throw new RemoteRpcError(ProtocolErrorCode.InvalidRequest, `this call of '${name}' is already being resumed by another request`);
    w.resuming = true;
    clearTimeout(w.timer);
    w.current = ctx;
    const responses = (extra.mcpReq.inputResponses ?? {}) as Record<string, unknown>;
    for (const [key, ask] of w.sent) {
      const answer = responses[key];
      if (typeof answer === "object" && answer !== null && !Array.isArray(answer)) ask.resolve(answer as Record<string, unknown>);
      else ask.reject(new RemoteRpcError(ProtocolErrorCode.InvalidParams, `mcp-herd: the client came back without an answer to ${ask.method} (input '${key}')`));
    }
    w.sent.clear();
    return w;
  }

  private async step(w: Waiting, signal: AbortSignal): Promise<unknown> {
    for (;;) {
      const outcome = await w.round(signal);
      if (outcome.kind === "done" || outcome.kind === "failed") {
        this.forget(w);
        if (outcome.kind === "failed") throw outcome.error;
        return outcome.result;
      }
      if (outcome.kind === "aborted") {
        this.forget(w);
        w.controller.abort();
        throw new Error(`${w.name}: the client abandoned the call`);
      }
      if (w.id || this.waiting.size < MAX_WAITING) break;
      for (const a of w.queued.splice(0)) a.reject(new RemoteRpcError(ProtocolErrorCode.InternalError, `mcp-herd: ${MAX_WAITING} calls already wait for their clients' input; ${a.method} is refused`));
    }
    w.id ??= randomBytes(24).toString("base64url");
    w.argsKey ??= JSON.stringify(w.args);
    this.waiting.set(w.id, w);
    const inputRequests = w.takeQueued();
    const waitMs = w.deadlineMs(this.waitCapMs);
    w.timer = setTimeout(() => {
      const methods = [...w.sent.values()].map((a) => a.method).join(", ");
      this.forget(w);
      w.failSent(new RemoteRpcError(REQUEST_TIMEOUT, `mcp-herd: the 2026-07-28 client did not come back with the answer to ${methods} within ${waitMs / 1000} s (its call of '${w.name}' returned input_required and was not retried)`));
      w.controller.abort();
    }, waitMs);
    w.timer.unref();
    return inputRequired({ inputRequests: inputRequests as InputRequests, requestState: `${STATE_PREFIX}${w.id}` });
  }

  private forget(w: Waiting): void {
    clearTimeout(w.timer);
    if (w.id) this.waiting.delete(w.id);
    for (const a of w.queued.splice(0)) a.reject(new RemoteRpcError(ProtocolErrorCode.InternalError, `mcp-herd: the call of '${w.name}' ended before ${a.method} reached its client`));
  }

  /** Calls waiting for their client's next round (for tests and health). */
  size(): number {
    return this.waiting.size;
  }
}

/**
 * Runs one request that may answer with input_required (prompts/get, resources/read of a service): through
 * the bridge for a 2026-07-28 client, as it is for a 2025 one (whose session takes the pushed requests).
 */
export async function maybeBridged<R>(
  app: App,
  server: Server,
  caller: string,
  key: string,
  params: Record<string, unknown>,
  extra: ServerContext,
  client: ClientLink,
  run: (o: { signal: AbortSignal; client?: ClientLink }) => Promise<R>,
): Promise<R | InputRequiredResult> {
  if (!servesModern(server)) return run({ signal: extra.mcpReq.signal, client });
  const { _meta: _m, ...args } = params;
  const ctx: ToolContext = { signal: extra.mcpReq.signal, caller, wantsProgress: false, client, progress: () => undefined };
  return inputBridge(app).open(caller, key, args, ctx, extra, run).step();
}

const bridges = new WeakMap<App, InputBridge>();

/** The process's one bridge: a modern client's rounds may reach different per-request Server instances. */
export function inputBridge(app: App): InputBridge {
  let b = bridges.get(app);
  if (!b) {
    b = new InputBridge(app.config.inputWaitSeconds * 1000);
    bridges.set(app, b);
  }
  return b;
}

/** True for a Server instance serving the 2026-07-28 era (no server-to-client requests there). */
export function servesModern(server: Server): boolean {
  const v = server.getNegotiatedProtocolVersion();
  return v !== undefined && v >= MODERN_SINCE;
}

function capabilitiesOf(extra: ServerContext): Record<string, unknown> | undefined {
  return (extra.mcpReq.envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES_META_KEY] as Record<string, unknown> | undefined;
}
