import { constants, copyFileSync, readFileSync, openSync, closeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { serviceSpecSchema, type ServiceSpec } from "../config.js";
import type { Logger } from "../log.js";
import { writePrivateFileAtomic } from "../util/private-file.js";

const stateSchema = z.object({
  version: z.literal(1),
  services: z.record(z.string(), z.unknown()),
});

/** Where loaded services are remembered across restarts. */
function statePath(stateDir: string): string {
  return join(stateDir, "state.json");
}

/** Reads the remembered services; a missing file is empty, a bad file or entry is skipped with a warning. */
export function readState(stateDir: string, log: Logger): Record<string, ServiceSpec> {
  const file = statePath(stateDir);
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
    if (code !== "ENOENT") log.warn(`state file ${file} not read (${code === "ELOOP" ? "it is a symlink" : code}); starting without it`);
    return {};
  }
  let parsed: z.infer<typeof stateSchema>;
  try {
    parsed = stateSchema.parse(JSON.parse(text));
  } catch (e) {
    log.error(`state file ${file} is not valid (${(e as Error).message.slice(0, 200)}); ${backUp(file)}; starting without its services`);
    return {};
  }
  const out: Record<string, ServiceSpec> = {};
  const skipped: string[] = [];
  for (const [name, raw] of Object.entries(parsed.services)) {
    const spec = serviceSpecSchema.safeParse(raw);
    if (spec.success) out[name] = spec.data;
    else skipped.push(name);
  }
  if (skipped.length > 0) {
    log.error(`state file ${file}: service(s) ${skipped.map((n) => `'${n}'`).join(", ")} skipped (invalid spec); ${backUp(file)}`);
  }
  return out;
}

// The next save rewrites the state file from what was loaded: whatever could not be read would be lost.
/** Copies an unreadable state file under a new name (same mode) and says where; never overwrites an earlier backup. */
function backUp(file: string): string {
  const backup = `${file}.bad-${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}`;
  try {
    copyFileSync(file, backup, constants.COPYFILE_EXCL);
    return `the file is kept as ${backup}; fix it and move it back to restore those services`;
  } catch (e) {
    return `could not keep a copy (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): the next save will replace it`;
  }
}

/** Writes the remembered services atomically (temp file, then rename), mode 0600, never through a symlink. */
export async function writeState(stateDir: string, services: Record<string, ServiceSpec>): Promise<void> {
  await writePrivateFileAtomic(statePath(stateDir), JSON.stringify({ version: 1, services }, null, 2) + "\n");
}
