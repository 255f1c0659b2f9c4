import type { App } from "../app.js";
import type { AnyToolDef } from "./define.js";
import { herdTools } from "./herd.js";
import { hostTools } from "./host.js";
import { remoteTools } from "./remote.js";
import { serviceTools } from "./services.js";

/** The one table of our own tools; each family adds its array here. */
export function buildTools(app: App): AnyToolDef[] {
  return [...herdTools(app), ...serviceTools(app.services, app.config, (name) => app.serviceEndpoint(name)), ...remoteTools(app.hosts), ...hostTools(app)];
}
