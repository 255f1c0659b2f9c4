import { ConfigError, type Config } from "../config.js";
import { hostChecks } from "./hosts.js";
import { serviceChecks } from "./services.js";
import type { Check } from "./table.js";
import { toolchainChecks } from "./toolchain.js";

/** `mcp-herd doctor`: toolchain, config, every host and every configured service, each with what to do. */
export async function runDoctor(loadConfig: () => Config, env: NodeJS.ProcessEnv = process.env): Promise<Check[]> {
  const toolchain = toolchainChecks(env);
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return [
      ...(await toolchain),
      { check: "config", status: "FAIL", detail: e.message, fix: "correct the named key or flag (mcp-herd --print-config-schema lists every key)" },
    ];
  }
  const configRow: Check = {
    check: "config",
    status: "OK",
    detail:
      `${config.configFile ? `${config.configFile} is valid` : "no --config file: defaults, environment and flags"}` +
      `; ${Object.keys(config.services).length} services, ${config.hosts.length} hosts in config` +
      (config.hostsFile ? `; host registry ${config.hostsFile} (${config.origins.hostsFile})` : ""),
  };
  const [tools, hosts] = await Promise.all([toolchain, hostChecks(config)]);
  return [...tools, configRow, ...hosts, ...serviceChecks(config, env)];
}
