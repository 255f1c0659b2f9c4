// Preloaded with --import: maps `fs` / `node:fs` to fs-shim.mjs for every module but the shim itself.
import { register } from "node:module";
register("./fs-hook.mjs", import.meta.url);
