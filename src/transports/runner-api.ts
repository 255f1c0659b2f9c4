import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { redactArgs, type AuditEntry } from "../audit.js";
import { formatIssues, type ServiceSpec } from "../config.js";

/** One supervised service as the runner API reports it (the registry's services are these). */
export interface RunnerEntry {
  readonly name: string;
  readonly state: string;
  readonly pid: number | null;
  readonly tools: readonly unknown[];
  readonly restarts: number;
}

/** What the runner API needs of the services registry: the same calls the service_* tools make. */
export interface RunnerRegistry {
  load(name: string, spec: ServiceSpec): Promise<unknown>;
  unload(name: string): Promise<void>;
  call(name: string, tool: string, args: Record<string, unknown>, opts?: { signal?: AbortSignal }): Promise<unknown>;
  get(name: string): RunnerEntry | undefined;
  list(): RunnerEntry[];
  readLogs(name: string, lines: number): Promise<Array<{ stream: string; text: string }>>;
}

export interface RunnerDeps {
  services: RunnerRegistry;
  /** The listener's own body reader (size cap, deadline); it throws errors carrying an HTTP status. */
  readJson(req: IncomingMessage): Promise<unknown>;
  audit?: { record(entry: Omit<AuditEntry, "time">): void };
}

/** The runner supervisor's HTTP API, answered by the services registry. */
export interface RunnerApi {
  /** Is this path one of the runner's (its errors are then answered as `{ error }`)? */
  owns(path: string | undefined): boolean;
  /** Answers a request on one of the runner's paths; false when the path is not one. */
  handle(req: IncomingMessage, res: ServerResponse, path: string | undefined, caller: string): Promise<boolean>;
  /** The runner's /health body, with mcp-herd's own fields beside it (`services` becomes the runner's list). */
  health(ours: Record<string, unknown>): Record<string, unknown>;
}

const ROUTES: Record<string, "GET" | "POST"> = { "/load": "POST", "/call": "POST", "/unload": "POST", "/list": "GET", "/logs": "GET" };
const LOG_TAIL = 10;
const MAX_LINES = 1000;

// The runner treated missing, null and "" alike; so do we, then leave every rule about the values to the registry.
const opt = z.preprocess((v) => (v === null || v === "" ? undefined : v), z.string().optional());
const loadBody = z.object({
  name: opt,
  sourcePath: opt,
  gitUrl: opt,
  gitBranch: opt,
  npxPackage: opt,
  uvxPackage: opt,
  env: z.record(z.string(), z.string()).nullish(),
  runtime: z.preprocess((v) => (v === null || v === "" ? undefined : v), z.enum(["node", "bun", "python"]).optional()),
});
const callBody = z.object({ name: opt, tool: opt, args: z.record(z.string(), z.unknown()).nullish() });
const unloadBody = z.object({ name: opt });

type Answer = [status: number, body: unknown];

// The registry's errors are told apart by name (transports/ do not import services/): SpecError is input a
// person must fix (400, thrown before anything runs), ServiceError a service's state (404 or 503).

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Builds the runner API over the registry; every load, call and unload goes through the registry's own checks. */
export function createRunnerApi(deps: RunnerDeps): RunnerApi {
  const reg = deps.services;

  // A name the registry does not have: it refuses a hostile one as such (400), else it is unknown (404).
  const absent = async (name: string): Promise<Refusal> => {
    const why = await reg.readLogs(name, 0).then(
      () => undefined,
      (e: Error) => e,
    );
    if (why?.name === "SpecError") return new Refusal(400, why.message);
    return new Refusal(404, `service "${name}" not found`);
  };
  const lookup = async (name: string | undefined): Promise<RunnerEntry> => {
    if (name === undefined) throw new Refusal(400, "name required");
    const svc = reg.get(name);
    if (!svc) throw await absent(name);
    return svc;
  };
  const parse = <T>(raw: unknown, schema: z.ZodType<T>): T => {
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new Refusal(400, `bad request body: ${formatIssues(parsed.error)}`);
    return parsed.data;
  };
  const tail = async (name: string) => (reg.get(name) ? (await reg.readLogs(name, LOG_TAIL).catch(() => [])).map(logText) : []);

  const load = async (raw: unknown): Promise<Answer> => {
    const b = parse(raw, loadBody);
    if (b.name === undefined) throw new Refusal(400, "name required");
    if (!b.sourcePath && !b.gitUrl && !b.npxPackage && !b.uvxPackage) {
      throw new Refusal(400, "one of sourcePath, gitUrl, npxPackage or uvxPackage required");
    }
    const spec = specOf(b);
    try {
      await reg.load(b.name, spec);
    } catch (e) {
      if ((e as Error).name === "SpecError") throw new Refusal(400, (e as Error).message);
      return [500, { error: (e as Error).message, logs: await tail(b.name) }];
    }
    return [200, { status: "running", tools: reg.get(b.name)?.tools ?? [] }];
  };

  const call = async (raw: unknown, signal?: AbortSignal): Promise<Answer> => {
    const b = parse(raw, callBody);
    await lookup(b.name);
    if (b.tool === undefined) throw new Refusal(400, "tool required");
    try {
      return [200, { result: await reg.call(b.name!, b.tool, b.args ?? {}, { signal }) }];
    } catch (e) {
      const err = e as Error;
      if (err.name === "SpecError") throw new Refusal(400, err.message);
      if (err.name === "ServiceError") throw reg.get(b.name!) ? new Refusal(503, err.message) : await absent(b.name!);
      // A call the service could not answer (crashed, timed out): the runner's 200 { error }.
      return [200, { error: err.message }];
    }
  };

  const unload = async (raw: unknown): Promise<Answer> => {
    const { name } = parse(raw, unloadBody);
    await lookup(name);
    try {
      await reg.unload(name!);
    } catch (e) {
      if (!reg.get(name!)) throw await absent(name!);
      throw new Refusal(500, (e as Error).message);
    }
    return [200, { ok: true }];
  };

  const list = async (url: URL): Promise<Answer> => {
    const name = url.searchParams.get("name");
    if (name) return [200, { tools: (await lookup(name)).tools }];
    return [200, Object.fromEntries(reg.list().map((s) => [s.name, s.tools]))];
  };

  const logs = async (url: URL): Promise<Answer> => {
    const name = url.searchParams.get("name") || undefined;
    const given = url.searchParams.get("lines");
    const n = given === null || given === "" ? 50 : Number(given);
    if (!Number.isInteger(n) || n < 1) throw new Refusal(400, `lines must be a positive integer (at most ${MAX_LINES}), got ${JSON.stringify(given)}`);
    await lookup(name);
    return [200, { lines: (await reg.readLogs(name!, Math.min(n, MAX_LINES))).map(logText) }];
  };

  const post: Record<string, (raw: unknown, signal?: AbortSignal) => Promise<Answer>> = { "/load": load, "/call": call, "/unload": unload };
  const answer = (run: () => Promise<Answer>): Promise<Answer> =>
    run().catch((e: unknown) => {
      if (e instanceof Refusal) return [e.status, { error: e.message }];
      throw e;
    });

  // What the broker changes is audited like the service_* tools: who, which service, the arguments without secrets.
  const audit = (path: string, caller: string, raw: unknown, [status, out]: Answer, t0: number) => {
    const fields = raw && typeof raw === "object" && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : {};
    if ("args" in fields) {
      fields.arguments = fields.args;
      delete fields.args;
    }
    const error = (out as { error?: unknown }).error;
    deps.audit?.record({
      who: caller,
      what: `runner ${path}`,
      ...(typeof fields.name === "string" ? { where: fields.name } : {}),
      args: redactArgs(fields),
      ok: status === 200 && error === undefined,
      ...(typeof error === "string" ? { error: error.split("\n")[0] } : {}),
      duration_ms: Date.now() - t0,
    });
  };

  return {
    owns: (path) => path !== undefined && Object.hasOwn(ROUTES, path),
    async handle(req, res, path, caller) {
      if (path === undefined || !Object.hasOwn(ROUTES, path)) return false;
      const method = ROUTES[path]!;
      if (req.method !== method) {
        res.setHeader("allow", method);
        send(res, 405, { error: `method ${req.method} not allowed on ${path}: use ${method}` });
        return true;
      }
      let result: Answer;
      if (method === "GET") {
        const url = new URL(req.url ?? path, "http://runner.invalid");
        result = await answer(() => (path === "/list" ? list(url) : logs(url)));
      } else {
        const raw = await deps.readJson(req);
        const t0 = Date.now();
        // A broker that hangs up cancels its call in the service (a load or unload runs to its end: the registry bounds it).
        const gone = new AbortController();
        const onClose = () => {
          if (!res.writableEnded) gone.abort(new Error("the caller closed the connection"));
        };
        res.once("close", onClose);
        result = await answer(() => post[path]!(raw, gone.signal)).finally(() => res.off("close", onClose));
        audit(path, caller, raw, result, t0);
      }
      send(res, ...result);
      return true;
    },
    health(ours) {
      const services = reg.list().map((s) => ({ name: s.name, status: s.state, pid: s.pid, tools: s.tools.length, restarts: s.restarts }));
      return { ...ours, ok: true, services };
    },
  };
}

/** The runner's /load fields as a service spec (runtime applies to folders and clones, which is where the runner used it). */
function specOf(b: z.infer<typeof loadBody>): ServiceSpec {
  const spec: ServiceSpec = {};
  if (b.sourcePath !== undefined) spec.path = b.sourcePath;
  if (b.gitUrl !== undefined) spec.git = b.gitUrl;
  if (b.gitBranch !== undefined) spec.ref = b.gitBranch;
  if (b.npxPackage !== undefined) spec.npm = b.npxPackage;
  if (b.uvxPackage !== undefined) spec.python = b.uvxPackage;
  if (b.env) spec.env = b.env;
  if (b.runtime !== undefined && (spec.path !== undefined || spec.git !== undefined)) spec.runtime = b.runtime;
  return spec;
}

function logText(l: { stream: string; text: string }): string {
  return `[${l.stream}] ${l.text}`;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
