import { accessSync, constants, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { Config, ServiceSpec } from "../config.js";
import type { Check } from "./table.js";
import { findOnPath } from "../services/sources/fsutil.js";
import { validateSpec } from "../services/validate.js";

/** Per configured service: a valid spec, the binary its command resolves to, and its environment (values masked). */
export function serviceChecks(config: Config, env: NodeJS.ProcessEnv = process.env): Check[] {
  return Object.entries(config.services).flatMap(([name, spec]) => oneService(name, spec, env));
}

function oneService(name: string, spec: ServiceSpec, env: NodeJS.ProcessEnv): Check[] {
  const check = `service ${name}`;
  if (spec.disabled) return [{ check, status: "OK", detail: "disabled in the config (not started)" }];
  let kind: string;
  try {
    kind = validateSpec(name, spec);
  } catch (e) {
    return [{ check, status: "FAIL", detail: `invalid spec: ${(e as Error).message}`, fix: `correct services.${name} in the config` }];
  }
  const pathVar = spec.env?.PATH ?? env.PATH ?? "";
  const need = (bins: string[], what: string): Check => {
    const found = bins.map((b) => findOnPath(b, pathVar)).find((p) => p !== undefined);
    return found
      ? { check, status: "OK", detail: `${kind} ${what} -> ${found}` }
      : { check, status: "FAIL", detail: `${kind} ${what}: ${bins.join(" or ")} not found on PATH`, fix: `install ${bins[0]} (see the toolchain rows above)` };
  };
  const main = ((): Check => {
    switch (kind) {
      case "command":
        return commandCheck(check, name, spec, pathVar);
      case "path":
        return folderCheck(check, name, spec.path!);
      case "git":
        return need(["git"], spec.git!);
      case "npm":
        return need(["npm"], spec.npm!);
      case "python":
        return need(["uv", "python3", "python"], spec.python!);
      default:
        return { check, status: "OK", detail: `remote MCP server ${new URL(spec.url!).origin} (not contacted by doctor)` };
    }
  })();
  return [main, envCheck(name, spec)];
}

function commandCheck(check: string, name: string, spec: ServiceSpec, pathVar: string): Check {
  const cmd = spec.command!;
  const args = (spec.args ?? []).length ? ` (+${spec.args!.length} args)` : "";
  if (cmd.includes("/")) {
    const abs = isAbsolute(cmd) ? cmd : resolve(spec.cwd ?? process.cwd(), cmd);
    try {
      accessSync(abs, constants.X_OK);
      if (statSync(abs).isFile()) return { check, status: "OK", detail: `command ${cmd} -> ${abs}${args}` };
    } catch {
      // reported below
    }
    return { check, status: "FAIL", detail: `command ${abs} does not exist or is not executable`, fix: `correct services.${name}.command, or chmod +x it` };
  }
  const found = findOnPath(cmd, pathVar);
  if (found) return { check, status: "OK", detail: `command ${cmd} -> ${found}${args}` };
  return {
    check,
    status: "FAIL",
    detail: `command '${cmd}' not found on PATH`,
    fix: `install ${cmd}, or give its full path in services.${name}.command`,
  };
}

function folderCheck(check: string, name: string, dir: string): Check {
  try {
    if (statSync(dir).isDirectory()) return { check, status: "OK", detail: `path ${dir}` };
  } catch {
    // reported below
  }
  return { check, status: "FAIL", detail: `path ${dir} is not a folder`, fix: `correct services.${name}.path` };
}

/** Which environment the child gets: inherited or minimal, plus the service's own keys, never their values. */
function envCheck(name: string, spec: ServiceSpec): Check {
  const base =
    spec.inherit_env === false
      ? "minimal environment (HOME, LOGNAME, PATH, SHELL, TERM, USER)"
      : "mcp-herd's environment without its tokens";
  const own = Object.keys(spec.env ?? {}).sort();
  const extra = own.length ? ` + ${own.map((k) => `${k}=***`).join(", ")}` : "";
  return { check: `service ${name} env`, status: "OK", detail: `${base}${extra}` };
}
