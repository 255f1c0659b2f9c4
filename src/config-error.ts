/** A configuration problem; the message names the key (or flag / variable) and what is wrong. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}
