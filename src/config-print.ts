import { z } from "zod";
import { configFileSchema, type Config } from "./config.js";

/** JSON Schema of the config file, for editors (`"$schema"`) and `--print-config-schema`. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...(z.toJSONSchema(configFileSchema, { io: "input" }) as Record<string, unknown>),
    title: "mcp-herd configuration",
  };
}

const MASK = "***";

/** The effective config with every secret replaced (token, peer tokens, service env and header values). */
export function maskedConfig(config: Config): Record<string, unknown> {
  const services = Object.fromEntries(
    Object.entries(config.services).map(([name, spec]) => [
      name,
      {
        ...spec,
        ...(spec.env ? { env: Object.fromEntries(Object.keys(spec.env).map((k) => [k, MASK])) } : {}),
        ...(spec.headers ? { headers: Object.fromEntries(Object.keys(spec.headers).map((k) => [k, MASK])) } : {}),
      },
    ]),
  );
  const hosts = config.hosts.map((h) => (h.peer?.token ? { ...h, peer: { ...h.peer, token: MASK } } : h));
  return {
    ...config,
    token: config.token === undefined ? undefined : MASK,
    tokens: config.tokens.map((t) => ({ name: t.name, token: MASK })),
    services,
    hosts,
  };
}
