#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { discardEarly } from "./backends/child/spawn.js";
import { HELP, parseCli } from "./cli.js";
import { ConfigError } from "./config-error.js";
import { startEarly } from "./start-early.js";
import { VERSION } from "./version.js";

const SHUTDOWN_BOUND_MS = 5_000;

async function main(): Promise<number | undefined> {
  const action = parseCli(process.argv.slice(2));
  if (action.kind === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  if (action.kind === "version") {
    process.stdout.write(`mcp-herd ${VERSION}\n`);
    return 0;
  }
  if (action.kind === "schema") {
    const { configJsonSchema } = await import("./config-print.js");
    process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + "\n");
    return 0;
  }
  const flags = { ...action.sources.flags };
  if (action.tokenFile) {
    try {
      flags.token = readFileSync(action.tokenFile, "utf8").trim();
    } catch (e) {
      throw new ConfigError(`--token-file ${action.tokenFile}: cannot read (${(e as NodeJS.ErrnoException).code})`);
    }
  }
  if (action.kind === "doctor") {
    // Loaded only for `doctor`: it pulls in ssh2, which a serving process loads on first SSH use.
    const { loadConfig } = await import("./config.js");
    const { runDoctor } = await import("./doctor/doctor.js");
    const { doctorExitCode, renderTable } = await import("./doctor/table.js");
    const checks = await runDoctor(() => loadConfig({ file: action.sources.file, flags, env: process.env }));
    process.stdout.write(renderTable(checks));
    return doctorExitCode(checks);
  }
  if (action.kind === "print-config") {
    const [{ loadConfig }, { maskedConfig }] = await Promise.all([import("./config.js"), import("./config-print.js")]);
    const config = loadConfig({ file: action.sources.file, flags, env: process.env });
    process.stdout.write(JSON.stringify(maskedConfig(config), null, 2) + "\n");
    return 0;
  }
  // The configured children start while the rest of mcp-herd loads (see start-early.ts).
  startEarly(action.sources.file, flags.token, process.env);
  const [{ loadConfig }, { createLogger }, { createApp }, { ToolCatalog }, { reduceMemoryWhenIdle }] = await Promise.all([
    import("./config.js"),
    import("./log.js"),
    import("./app.js"),
    import("./server.js"),
    import("./util/idle-memory.js"),
  ]);
  const config = loadConfig({ file: action.sources.file, flags, env: process.env });
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  const app = createApp(config, log);
  app.onShutdown(async () => void (await discardEarly()));
  void app.services.whenStarted().then(async () => {
    const { adopted, stopped } = await discardEarly();
    if (adopted + stopped) log.debug(`children started early: ${adopted} adopted, ${stopped} stopped (no service started them with that command and environment)`);
  });
  const catalog = new ToolCatalog(app);
  app.onShutdown(reduceMemoryWhenIdle());
  for (const note of config.notes) log.warn(`config: ${note}`);
  for (const [name, raw] of Object.entries(config.serviceAliases)) app.services.notes.set(name, "alias", `named '${raw}' in the config file`);

  let exiting = false;
  const stop = (why: string, code = 0) => {
    if (exiting) return;
    exiting = true;
    log.info(`stopping (${why})`);
    const timer = setTimeout(() => {
      log.warn(`shutdown took longer than ${SHUTDOWN_BOUND_MS} ms; exiting anyway`);
      process.exit(code || 1);
    }, SHUTDOWN_BOUND_MS);
    timer.unref();
    void app.shutdown().finally(() => process.exit(code));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGHUP", () => stop("SIGHUP"));

  if (config.mode === "http") {
    // Each transport is loaded only when used: the HTTP one brings ~7 MB of the SDK that stdio never needs.
    const { serveHttp } = await import("./transports/http.js");
    const handle = await serveHttp(app, catalog);
    log.always(
      `mcp-herd ${app.version} listening on ${handle.url} (${config.token || config.tokens.length ? "token required" : "no token: loopback only"})` +
        (config.peer ? ", peer mode" : ""),
    );
  } else {
    const { serveStdio } = await import("./transports/stdio.js");
    await serveStdio(app, catalog, () => stop("client closed stdin"));
  }
  return undefined;
}

main().then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (e: unknown) => {
    const msg = e instanceof ConfigError ? `mcp-herd: ${e.message}` : `mcp-herd: ${(e as Error).message ?? String(e)}`;
    process.stderr.write(msg + "\n");
    process.exit(2);
  },
);
