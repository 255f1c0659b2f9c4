import { spawn } from "node:child_process";
import { Duplex } from "node:stream";
import type { SshTarget } from "./sshconfig.js";
import { HostUnreachableError } from "../host-io.js";
import type { Logger } from "../../log.js";

/** Bytes of the proxy's stderr kept for the error message when the handshake fails. */
const STDERR_KEPT = 2048;

// Why: a ProxyCommand from the user's ssh_config, run the way OpenSSH runs it, its stdio as the SSH transport.
export function proxySocket(hop: SshTarget & { proxyCommand: string }, log: Logger): Promise<Duplex> {
  const where = `${hop.user}@${hop.hostName}:${hop.port}`;
  // SECURITY: the one place mcp-herd hands a string to a shell. The string is the user's own ssh_config
  // ProxyCommand (tokens %h %p %r %n expanded as OpenSSH does), never tool input; OpenSSH itself runs it
  // as `sh -c "exec <command>"`, and so do we, so that users' ProxyCommands behave exactly as with ssh.
  const child = spawn("/bin/sh", ["-c", `exec ${hop.proxyCommand}`], { stdio: ["pipe", "pipe", "pipe"], detached: true });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr.length < STDERR_KEPT ? (stderr += d.toString("utf8")) : undefined));
  const sock = Duplex.from({ readable: child.stdout, writable: child.stdin });
  const stop = () => {
    if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      child.kill("SIGTERM");
    }
  };
  sock.on("close", stop);
  sock.on("error", (err: Error) => log.debug("ProxyCommand stream error", { host: where, error: err.message }));
  child.once("exit", (code, signal) => log.debug("ProxyCommand exited", { host: where, code, signal }));
  return new Promise((resolve, reject) => {
    child.once("error", (err) => {
      sock.destroy();
      reject(new HostUnreachableError(`ssh ${where}: ProxyCommand could not start (${err.message})`));
    });
    child.once("spawn", () => resolve(Object.assign(sock, { proxyStderr: () => stderr.trim().split("\n").slice(-3).join(" | ") })));
  });
}

// Why: a failed handshake over a ProxyCommand names what the proxy said on stderr.
export function proxyNote(sock: Duplex): string {
  const f = (sock as Duplex & { proxyStderr?: () => string }).proxyStderr;
  const said = f?.();
  return f ? ` (through ProxyCommand${said ? `, which said: ${said}` : ""})` : "";
}
