import { constants, promises as fs, readFileSync, openSync, closeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import { serviceSpecSchema, type ServiceSpec } from "../config.js";
import type { Logger } from "../log.js";

const stateSchema = z.object({
  version: z.literal(1),
  services: z.record(z.string(), z.unknown()),
});

/** Where loaded services are remembered across restarts. */
export function statePath(stateDir: string): string {
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
    log.warn(`state file ${file} is not valid (${(e as Error).message.slice(0, 200)}); starting without it`);
    return {};
  }
  const out: Record<string, ServiceSpec> = {};
  for (const [name, raw] of Object.entries(parsed.services)) {
    const spec = serviceSpecSchema.safeParse(raw);
    if (spec.success) out[name] = spec.data;
    else log.warn(`state file ${file}: service '${name}' skipped (invalid spec)`);
  }
  return out;
}

/** Writes the remembered services atomically (temp file, then rename), mode 0600, never through a symlink. */
export async function writeState(stateDir: string, services: Record<string, ServiceSpec>): Promise<void> {
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const file = statePath(stateDir);
  const tmp = join(stateDir, `.state.json.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const body = JSON.stringify({ version: 1, services }, null, 2) + "\n";
  const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await handle.writeFile(body, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
