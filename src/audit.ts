import { appendFile, chmod, open } from "node:fs/promises";
import type { Logger } from "./log.js";

/** One line of the audit log. */
export interface AuditEntry {
  time: string;
  /** "stdio", "http", a token id (`tok-1a2b3c4d`) or a named token (`token:ci`). */
  who: string;
  /** The tool (or event) that acted: `remote_shell`, `service_load`, `service:echo started`, ... */
  what: string;
  /** Host, service, or path it acted on, when the arguments name one. */
  where?: string;
  /** The arguments with secrets and bulk content replaced by their sizes. */
  args?: Record<string, unknown>;
  ok: boolean;
  error?: string;
  duration_ms?: number;
}

// Argument keys whose values are secrets or bulk data: the log keeps their size only.
const REDACT = new Set(["content", "env", "headers", "token", "old_string", "new_string", "arguments", "expected_sha256"]);
const MAX_STRING = 2_000;

/** The arguments as they go to the audit log: no secrets, no file contents, bounded strings. */
export function redactArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    if (REDACT.has(k)) {
      out[k] = typeof v === "string" ? `<${Buffer.byteLength(v)} bytes>` : v && typeof v === "object" ? `<${Object.keys(v).length} keys>` : v;
    } else if (typeof v === "string" && v.length > MAX_STRING) out[k] = v.slice(0, MAX_STRING) + `... <${v.length} chars>`;
    else out[k] = v;
  }
  return out;
}

/** Appends JSON lines to an opt-in file (mode 0600); writes are serialized and never throw into callers. */
export class AuditLog {
  private chain: Promise<void> = Promise.resolve();
  private ready: Promise<void>;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {
    this.ready = open(path, "a", 0o600)
      .then(async (fh) => {
        await fh.close();
        await chmod(path, 0o600);
      })
      .catch((e: Error) => log.error(`audit log ${path} cannot be opened: ${e.message}`));
  }

  record(entry: Omit<AuditEntry, "time">): void {
    const line = JSON.stringify({ time: new Date().toISOString(), ...entry }) + "\n";
    this.chain = this.chain
      .then(() => this.ready)
      .then(() => appendFile(this.path, line, { mode: 0o600 }))
      .catch((e: Error) => this.log.warn(`audit log write failed: ${e.message}`));
  }

  /** Resolves when every entry recorded so far is on disk. */
  flush(): Promise<void> {
    return this.chain;
  }
}
