import { isAbsolute } from "node:path";
import type { ServiceSpec } from "../config.js";
import type { SourceKind } from "./types.js";

/** Input a person must fix; the message names the field, the value and the rule. */
export class SpecError extends Error {
  override readonly name = "SpecError";
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const CONTROL = /[\u0000-\u001f\u007f]/;
const SOURCES: readonly SourceKind[] = ["path", "git", "npm", "python", "command", "url"];

function show(value: string): string {
  return JSON.stringify(value.length > 80 ? value.slice(0, 80) + "..." : value);
}

/** Service names become folder names and tool prefixes, so only a small safe alphabet is allowed. */
export function validateName(name: string): void {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new SpecError(
      `service name ${show(String(name))} is not allowed: use 1-63 characters, lower-case letters, digits, '_' and '-', starting with a letter or digit (for example "my-server")`,
    );
  }
}

/** Exactly one source per service; returns which one, and refuses fields that belong to another source. */
export function validateSourceChoice(spec: ServiceSpec): SourceKind {
  const given = SOURCES.filter((k) => spec[k] !== undefined);
  if (given.length === 0) {
    throw new SpecError(`no source given: set exactly one of ${SOURCES.join(", ")}`);
  }
  if (given.length > 1) {
    throw new SpecError(`several sources given (${given.join(", ")}): set exactly one of ${SOURCES.join(", ")}`);
  }
  const kind = given[0]!;
  if (spec.ref !== undefined && kind !== "git") throw new SpecError(`'ref' only applies to a 'git' source, not to '${kind}'`);
  if (spec.headers !== undefined && kind !== "url") throw new SpecError(`'headers' only apply to a 'url' source, not to '${kind}'`);
  if (spec.args !== undefined && kind === "url") throw new SpecError(`'args' do not apply to a 'url' source`);
  if (spec.type === "sse" && kind !== "url") throw new SpecError(`'type': "sse" needs a 'url' source, not '${kind}'`);
  if (spec.runtime !== undefined && kind !== "path" && kind !== "git") {
    throw new SpecError(`'runtime' only applies to 'path' and 'git' sources, not to '${kind}'`);
  }
  return kind;
}

const GIT_SCHEMES = new Set(["https:", "http:", "ssh:", "git:", "file:"]);
const SCP_LIKE = /^(?:([^@/:]+)@)?([^@/:]+):(.+)$/;

/** Git URLs reach `git clone`; refuses option injection, transport helpers (ext::, fd::) and odd hosts. */
export function validateGitUrl(url: string): void {
  const bad = (why: string) => new SpecError(`git URL ${show(url)} refused: ${why}`);
  if (url.length === 0) throw bad("it is empty");
  if (CONTROL.test(url)) throw bad("it contains control characters");
  if (url.startsWith("-")) throw bad("it starts with '-' (it would be read as an option)");
  if (/[$`;|&<>]/.test(url)) throw bad("it contains shell metacharacters ($ ` ; | & < >), which no git URL needs");
  if (url.includes("::")) throw bad("'<transport>::' remote helpers (ext::, fd::, ...) are not allowed");
  if (url.startsWith("/")) {
    if (!isAbsolute(url)) throw bad("not an absolute path");
    return;
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  if (scheme) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw bad("it is not a valid URL");
    }
    if (!GIT_SCHEMES.has(parsed.protocol)) throw bad(`scheme '${scheme[1]}' is not allowed (use https, http, ssh, git or file)`);
    if (/\s/.test(url)) throw bad("it contains whitespace");
    if (parsed.protocol === "file:") {
      if (parsed.hostname !== "" && parsed.hostname !== "localhost") throw bad("file:// URLs must name a local path");
      return;
    }
    const host = decodeURIComponent(url.slice(scheme[0].length).split(/[/?#]/)[0]!.replace(/^.*@/, ""));
    if (!parsed.hostname || host.startsWith("-") || parsed.hostname.startsWith("-")) throw bad("the host is missing or starts with '-'");
    if (decodeURIComponent(parsed.username).startsWith("-")) throw bad("the user name starts with '-'");
    if (parsed.password) throw bad("it contains a password: use a git credential helper or an SSH key instead");
    return;
  }
  const scp = SCP_LIKE.exec(url);
  if (scp && !url.includes("://")) {
    const [, user, host, path] = scp;
    if (/\s/.test(url)) throw bad("it contains whitespace");
    if (user !== undefined && (user === "" || user.startsWith("-"))) throw bad("the user name is empty or starts with '-'");
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(host!)) throw bad("the host is not a host name");
    if (path!.startsWith("-")) throw bad("the path starts with '-'");
    return;
  }
  throw bad("use https://, http://, ssh://, git://, file://, user@host:path or an absolute local path");
}

/** True for a full commit id (SHA-1 or SHA-256), which is fetched rather than cloned by name. */
export function isCommitHash(ref: string): boolean {
  return /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(ref);
}

/** A branch, tag or full commit id, following `git check-ref-format` rules so it can never be an option. */
export function validateGitRef(ref: string): void {
  const bad = (why: string) => new SpecError(`git ref ${show(ref)} refused: ${why}`);
  if (ref.length === 0) throw bad("it is empty");
  if (ref.length > 255) throw bad("it is longer than 255 characters");
  if (isCommitHash(ref)) return;
  if (ref.startsWith("-")) throw bad("it starts with '-' (it would be read as an option)");
  if (CONTROL.test(ref)) throw bad("it contains control characters");
  if (/[\s~^:?*[\\]/.test(ref)) throw bad("it contains a space or one of ~ ^ : ? * [ \\");
  if (ref.includes("..")) throw bad("it contains '..'");
  if (ref.includes("@{") || ref === "@") throw bad("it contains '@{' or is '@'");
  if (ref.startsWith("/") || ref.endsWith("/") || ref.includes("//")) throw bad("it has an empty path component");
  if (ref.endsWith(".")) throw bad("it ends with '.'");
  for (const part of ref.split("/")) {
    if (part.startsWith(".")) throw bad("a component starts with '.'");
    if (part.endsWith(".lock")) throw bad("a component ends with '.lock'");
  }
}

const NPM_NAME = /^(?:@([A-Za-z0-9][A-Za-z0-9._~-]*)\/)?([A-Za-z0-9][A-Za-z0-9._~-]*)$/;
const NPM_RANGE = /^(?:[A-Za-z0-9.^~<>=*+ -]|\|\|)+$/;

/** Splits a validated npm spec into its package name and optional range. */
export function parseNpmSpec(spec: string): { name: string; range?: string } {
  const at = spec.indexOf("@", 1);
  return at < 0 ? { name: spec } : { name: spec.slice(0, at), range: spec.slice(at + 1) };
}

/** Registry specs only (`name`, `name@range`, `@scope/name@x`): no URL, path, git, file: or alias specs. */
export function validateNpmSpec(spec: string): void {
  const bad = (why: string) =>
    new SpecError(`npm spec ${show(spec)} refused: ${why}; use name, name@range or @scope/name@version from the registry`);
  if (spec.length === 0) throw bad("it is empty");
  if (CONTROL.test(spec)) throw bad("it contains control characters");
  if (spec.startsWith("-")) throw bad("it starts with '-'");
  if (spec.includes(":")) throw bad("URLs, git:, file: and npm: alias specs are not allowed");
  const { name, range } = parseNpmSpec(spec);
  if (name.length > 214 || !NPM_NAME.test(name)) throw bad("it is not a package name (paths and git user/repo specs are not allowed)");
  if (/\.(?:tgz|tar\.gz|tar)$/i.test(name)) throw bad("tarball files are not allowed");
  if (range !== undefined) {
    if (range.length === 0 || range.trim() !== range || range.startsWith("-") || !NPM_RANGE.test(range)) {
      throw bad("the version range has characters a semver range or dist-tag does not use");
    }
  }
}

const PY_NAME = "[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?";
const PY_VER = "(?:~=|===|==|!=|<=|>=|<|>)\\s*[A-Za-z0-9.*+!_-]+";
const PY_SPEC = new RegExp(`^(${PY_NAME})\\s*(\\[\\s*${PY_NAME}(?:\\s*,\\s*${PY_NAME})*\\s*\\])?\\s*(${PY_VER}(?:\\s*,\\s*${PY_VER})*)?$`);

/** Splits a validated Python requirement into its distribution name and the rest. */
export function parsePythonSpec(spec: string): { name: string; extras?: string; version?: string } {
  const m = PY_SPEC.exec(spec.trim());
  if (!m) throw new SpecError(`python spec ${show(spec)} is not a requirement`);
  return { name: m[1]!, extras: m[2], version: m[3] };
}

/** A PEP 508 name with optional extras and version specifiers: no URLs, paths, markers or shell text. */
export function validatePythonSpec(spec: string): void {
  const bad = (why: string) =>
    new SpecError(`python spec ${show(spec)} refused: ${why}; use a package name with optional extras and version, such as mcp-server-time or "pkg[extra]>=1.2"`);
  if (spec.length === 0) throw bad("it is empty");
  if (spec.length > 300) throw bad("it is longer than 300 characters");
  if (CONTROL.test(spec)) throw bad("it contains control characters");
  if (spec.startsWith("-")) throw bad("it starts with '-'");
  if (/[@/:;\\]/.test(spec)) throw bad("URLs, paths, direct references and markers are not allowed");
  if (!PY_SPEC.test(spec)) throw bad("it is not a PEP 508 requirement");
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A remote MCP endpoint: http(s) only, no credentials in the URL, headers that cannot split a request. */
export function validateUrl(url: string, headers: Record<string, string> = {}): void {
  const bad = (why: string) => new SpecError(`url ${show(url)} refused: ${why}`);
  if (CONTROL.test(url) || /\s/.test(url)) throw bad("it contains control characters or whitespace");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad("it is not a valid URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw bad("only http:// and https:// are allowed");
  if (parsed.username || parsed.password) {
    const masked = `${parsed.protocol}//***@${parsed.host}${parsed.pathname}`;
    throw new SpecError(`url ${show(masked)} refused: credentials in the URL are not allowed: pass them in 'headers' (e.g. Authorization)`);
  }
  for (const [k, v] of Object.entries(headers)) {
    if (!HEADER_NAME.test(k)) throw new SpecError(`header name ${show(k)} is not a valid HTTP header name`);
    if (/[\r\n\0]/.test(v)) throw new SpecError(`header '${k}': its value contains CR, LF or NUL`);
  }
}

/** A command run as given (Claude Desktop `mcpServers` shape): no empty command, no NUL anywhere. */
export function validateCommand(command: string, args: readonly string[] = []): void {
  if (command.trim().length === 0) throw new SpecError("command is empty");
  if (command.includes("\0")) throw new SpecError(`command ${show(command)} contains a NUL byte`);
  args.forEach((a, i) => {
    if (a.includes("\0")) throw new SpecError(`args[${i}] contains a NUL byte`);
  });
}

/** Environment entries handed to a child: names a shell would accept, values without NUL. */
export function validateEnv(env: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new SpecError(`env name ${show(k)} is not allowed: use letters, digits and '_'`);
    if (v.includes("\0")) throw new SpecError(`env '${k}': its value contains a NUL byte`);
  }
}

/** Every check a spec needs before anything runs; returns the source kind. */
export function validateSpec(name: string, spec: ServiceSpec): SourceKind {
  validateName(name);
  const kind = validateSourceChoice(spec);
  validateEnv(spec.env);
  if (spec.cwd !== undefined && (spec.cwd.includes("\0") || !isAbsolute(spec.cwd))) {
    throw new SpecError(`cwd ${show(spec.cwd)} must be an absolute path`);
  }
  if (spec.args) validateCommand("x", spec.args);
  switch (kind) {
    case "path":
      if (spec.path!.includes("\0") || !isAbsolute(spec.path!)) throw new SpecError(`path ${show(spec.path!)} must be an absolute path to a folder`);
      break;
    case "git":
      validateGitUrl(spec.git!);
      if (spec.ref !== undefined) validateGitRef(spec.ref);
      break;
    case "npm":
      validateNpmSpec(spec.npm!);
      break;
    case "python":
      validatePythonSpec(spec.python!);
      break;
    case "command":
      validateCommand(spec.command!, spec.args);
      break;
    case "url":
      validateUrl(spec.url!, spec.headers);
      break;
  }
  return kind;
}
