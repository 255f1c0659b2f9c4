import { randomBytes } from "node:crypto";
import { constants, promises as fs } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Replaces `file` atomically (temp file in the same folder, fsync, rename), mode 0600 in a 0700 folder, never through a symlink. */
export async function writePrivateFileAtomic(file: string, body: string): Promise<void> {
  const dir = dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (e) {
    // The temp file may not exist (open failed): that rejection is swallowed with the others.
    await fs.rm(tmp).catch(() => {});
    throw e;
  }
}
