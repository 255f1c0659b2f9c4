import type { Progress } from "../../backends/backend.js";
import type { HostIO } from "../../backends/host-io.js";
import { resolveHostPath } from "../../backends/host-files.js";

/** What every host tool implementation gets: the host's primitives and how to label and bound results. */
export interface HostToolContext {
  io: HostIO;
  via: string;
  /** Bound on output per stream and on text returned by file tools. */
  maxOutputBytes: number;
  /** Bound on how much of a file read_file and edit_file load. */
  maxFileBytes: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** The host's home folder, fetched once. */
  home(): Promise<string>;
}

/** A tool's own failure with a message for the caller (missing file, refused edit): an isError result. */
export class ToolFailure extends Error {
  override readonly name = "ToolFailure";
}

/** Resolves a tool's path argument on the host: `~`, relative to home. */
export async function hostPath(ctx: HostToolContext, path: string | undefined): Promise<string> {
  return resolveHostPath(path, await ctx.home());
}
