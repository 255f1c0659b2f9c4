import type { LastExit, ServiceState } from "./service-types.js";

/** What a refused call needs to explain itself. */
export interface StatusFacts {
  name: string;
  /** "local" or the host it runs on. */
  host: string;
  state: ServiceState;
  error?: string;
  lastExit?: LastExit;
  nextAttemptAt?: number;
}

/** The message a refused call gets: the state, why, and what to do. */
export function whyNotRunning(f: StatusFacts): string {
  const n = f.host === "local" ? `service '${f.name}'` : `service '${f.name}' on host '${f.host}'`;
  const last = f.lastExit ? ` (last: ${f.lastExit.reason})` : "";
  switch (f.state) {
    case "installing":
      return `${n} is still installing; try again when service_list shows it running`;
    case "starting":
      return `${n} is starting (handshake in progress); try again in a moment`;
    case "restarting": {
      const s = f.nextAttemptAt ? Math.max(0, Math.ceil((f.nextAttemptAt - Date.now()) / 1000)) : 0;
      if (s === 0) return `${n} is restarting after a failure${last}; a new process is starting now, expected back in a moment. See service_logs for its output`;
      return `${n} is restarting after a failure${last}; next attempt in ~${s} s. See service_logs for its output`;
    }
    case "crashed":
      return `${n} is crashed: ${f.error ?? "too many crashes"}. See service_logs, then call service_restart`;
    case "failed":
      return `${n} failed to start: ${f.error ?? "unknown error"}. Fix the cause, then call service_restart or service_load`;
    case "unreachable":
      return `${n} cannot be reached: ${f.error ?? "its mcp-herd peer does not answer"}. It is kept and answers again when the host is back; remote_list_hosts shows the host's paths`;
    case "stopped":
      return `${n} is stopped`;
    default:
      return `${n} is ${f.state}`;
  }
}
