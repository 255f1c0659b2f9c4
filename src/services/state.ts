import { createHash } from "node:crypto";
import { constants, copyFileSync, readFileSync, openSync, closeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { serviceSpecSchema, type ServiceSpec } from "../config.js";
import type { Logger } from "../log.js";
import { withFileLock } from "../util/file-lock.js";
import { writePrivateFileAtomic } from "../util/private-file.js";

const stateSchema = z.object({
  version: z.literal(1),
  services: z.record(z.string(), z.unknown()),
});

/** What one read of the state file found. */
export interface StateRead {
  /** The valid records, by service name. */
  services: Record<string, ServiceSpec>;
  /** Names whose record is there but not a valid spec (kept in the file, acted on by nobody). */
  skipped: string[];
  /** The file exists but could not be read or parsed: nothing in it can be trusted, not even an absence. */
  unreadable: boolean;
}

/** Where loaded services are remembered across restarts (and shared by the processes that share the folder). */
export function statePath(stateDir: string): string {
  return join(stateDir, "state.json");
}

/** Reads the remembered services; a missing file is empty, a bad file or entry is skipped with a warning and copied aside. */
export function readState(stateDir: string, log: Logger): StateRead {
  const { read } = readRaw(statePath(stateDir), log);
  return read;
}

/** Sets (spec) or removes (undefined) one service's record: a read-merge-write under the state folder's lock,
 * so records other processes wrote in the meantime are kept. Resolves to what the file holds afterwards. */
export async function changeState(stateDir: string, log: Logger, name: string, spec: ServiceSpec | undefined): Promise<StateRead> {
  const file = statePath(stateDir);
  return withFileLock(
    file,
    async () => {
      const { raw, read } = readRaw(file, log);
      const before = raw[name];
      if (spec === undefined) delete raw[name];
      else raw[name] = spec;
      if (read.unreadable || !sameSpec(before, spec)) {
        await writePrivateFileAtomic(file, JSON.stringify({ version: 1, services: raw }, null, 2) + "\n");
      }
      if (spec === undefined) delete read.services[name];
      else read.services[name] = spec;
      read.skipped = read.skipped.filter((n) => n !== name);
      read.unreadable = false;
      return read;
    },
    { onStale: (lockFile) => log.warn(`removing a stale state file lock ${lockFile} (its process died holding it)`) },
  );
}

/** True when two records describe the same service (key order aside). */
export function sameSpec(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (v === undefined) return "";
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0))) : x,
  );
}

/** The file's records as written (for a merge that keeps what this process cannot parse) and as read. */
function readRaw(file: string, log: Logger): { raw: Record<string, unknown>; read: StateRead } {
  const empty = (unreadable: boolean) => ({ raw: {}, read: { services: {}, skipped: [], unreadable } });
  let text: string;
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = readFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return empty(false);
    log.warn(`state file ${file} not read (${code === "ELOOP" ? "it is a symlink" : code}); starting without it`);
    return empty(true);
  }
  let parsed: z.infer<typeof stateSchema>;
  try {
    parsed = stateSchema.parse(JSON.parse(text));
  } catch (e) {
    const kept = backUp(file, text);
    if (kept) log.error(`state file ${file} is not valid (${(e as Error).message.slice(0, 200)}); ${kept}; starting without its services`);
    return empty(true);
  }
  const services: Record<string, ServiceSpec> = {};
  const skipped: string[] = [];
  for (const [name, raw] of Object.entries(parsed.services)) {
    const spec = serviceSpecSchema.safeParse(raw);
    if (spec.success) services[name] = spec.data;
    else skipped.push(name);
  }
  if (skipped.length > 0) {
    const kept = backUp(file, text);
    if (kept) log.error(`state file ${file}: service(s) ${skipped.map((n) => `'${n}'`).join(", ")} skipped (invalid spec); ${kept}`);
  }
  return { raw: parsed.services, read: { services, skipped, unreadable: false } };
}

/** Contents already copied aside by this process: a file read again unchanged is neither copied nor reported twice. */
const backedUp = new Set<string>();

// Whatever could not be read would otherwise be lost to the next save.
/** Copies an unreadable state file under a new name (same mode) and says where; never overwrites an earlier backup. */
function backUp(file: string, text: string): string | undefined {
  const key = `${file}\0${createHash("sha256").update(text).digest("hex")}`;
  if (backedUp.has(key)) return undefined;
  backedUp.add(key);
  const backup = `${file}.bad-${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}`;
  try {
    copyFileSync(file, backup, constants.COPYFILE_EXCL);
    return `the file is kept as ${backup}; fix it and move it back to restore those services`;
  } catch (e) {
    return `could not keep a copy (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): the next save will replace it`;
  }
}
