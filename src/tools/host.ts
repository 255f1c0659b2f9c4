import type { App } from "../app.js";
import { runHostTool } from "../hosts/toolset/toolset.js";
import {
  HOST_TOOL_NAMES,
  hostToolAnnotations,
  hostToolDescriptions,
  hostToolOutputShapes,
  hostToolShapes,
  hostToolTitles,
} from "../hosts/toolset/schemas.js";
import { defineTool, type AnyToolDef } from "./define.js";

/** Peer mode: this machine's host tool set under the plain lmcp names, so another hub can use us as a peer. */
export function hostTools(app: App): AnyToolDef[] {
  if (!app.config.peer) return [];
  const io = app.localHostIO();
  return HOST_TOOL_NAMES.map((name) =>
    defineTool({
      name,
      title: hostToolTitles[name],
      description: hostToolDescriptions[name],
      input: hostToolShapes[name],
      output: hostToolOutputShapes[name],
      annotations: hostToolAnnotations[name],
      handler: (args, ctx) =>
        runHostTool(io, name, args as Record<string, unknown>, {
          via: "local",
          signal: ctx.signal,
          onProgress: ctx.wantsProgress ? (p) => ctx.progress(p) : undefined,
        }),
    }),
  );
}
