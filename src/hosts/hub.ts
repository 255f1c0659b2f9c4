import { join } from "node:path";
import type { Backend } from "../backends/backend.js";
import { TransportError } from "../backends/backend.js";
import { LocalHostIO } from "../backends/local.js";
import { PeerBackend } from "../backends/peer.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { checkGroups } from "./fanout/select.js";
import { JobManager } from "./jobs/jobs.js";
import { JobStore } from "./jobs/store.js";
import { ProbeCache } from "./probe.js";
import { HostRegistry, type BackendFactory, type SshPath } from "./registry.js";
import { Router } from "./router.js";
import { parseProxyJump, resolveSshTarget, type SshSpec } from "../backends/ssh/sshconfig.js";
import { hostBackend } from "./toolset/toolset.js";

/** The fleet hub: hosts, the router that reaches them, and their probe cache. */
export interface HostHub {
  registry: HostRegistry;
  router: Router;
  probes: ProbeCache;
  ttlSeconds: number;
  /** Named sets of hosts (config `groups`), usable wherever a host name is. */
  groups: Record<string, string[]>;
  /** Background jobs started through the hub, recorded in `<stateDir>/jobs.json`. */
  jobs: JobManager;
  /** Worst case to reach a host over every path (peer, then SSH), before a command starts. */
  connectTimeoutMs: number;
  close(): Promise<void>;
}

/** Builds the hub from config; nothing connects until a host is used. */
export function createHub(config: Config, log: Logger, factory: BackendFactory = defaultFactory(config, log)): HostHub {
  const registry = HostRegistry.load(config, log, factory);
  const peerTimeoutMs = config.peerTimeoutSeconds * 1000;
  for (const message of checkGroups(config.groups, registry.names())) {
    registry.problems.push({ where: "config groups", message });
    log.warn("host group problem", { problem: message });
  }
  const router = new Router(registry, { peerTimeoutMs, log });
  return {
    registry,
    router,
    groups: config.groups,
    connectTimeoutMs: (config.peerTimeoutSeconds + config.sshTimeoutSeconds) * 1000,
    jobs: new JobManager(router, new JobStore(join(config.stateDir, "jobs.json"), log.child("jobs"))),
    probes: new ProbeCache(registry, {
      ttlMs: config.probeTtlSeconds * 1000,
      peerTimeoutMs,
      sshTimeoutMs: config.sshTimeoutSeconds * 1000,
      log,
    }),
    ttlSeconds: config.probeTtlSeconds,
    close: () => registry.close(),
  };
}

/** Real backends: PeerBackend for peers, SshHostIO for SSH, LocalHostIO for this machine. */
function defaultFactory(config: Config, log: Logger): BackendFactory {
  return {
    peer: (p, host) =>
      new PeerBackend({ url: p.url, token: p.token, protocol: p.protocol, timeoutMs: config.peerTimeoutSeconds * 1000, log: log.child(`peer:${host}`) }),
    ssh: (s, host) => lazyBackend("ssh", host, () => sshBackend(s, config, log.child(`ssh:${host}`))),
    local: () => hostBackend(new LocalHostIO(), "local"),
  };
}

async function sshBackend(s: SshPath, config: Config, log: Logger): Promise<Backend> {
  const spec: SshSpec = typeof s === "string" ? parseProxyJump(s)[0]! : { host: s.host, port: s.port, user: s.user, identityFile: s.identityFile, proxyJump: s.proxyJump };
  const target = await resolveSshTarget(spec, typeof s === "object" && s.sshConfig ? { configFile: s.sshConfig } : {});
  // ssh2 costs ~10 MB of memory: loaded only when a host is first reached over SSH.
  const { SshHostIO } = await import("../backends/ssh/ssh.js");
  const io = new SshHostIO({
    target,
    connectTimeoutMs: config.sshTimeoutSeconds * 1000,
    ...(typeof s === "object" && s.knownHostsFile ? { knownHostsFiles: [s.knownHostsFile] } : {}),
    ...(typeof s === "object" && s.acceptNewHostKey ? { acceptNewHostKey: true } : {}),
    log,
  });
  return hostBackend(io, "ssh");
}

/** A backend made on first use by an async step (ssh -G); a failure to make it is a transport failure, retried next time. */
function lazyBackend(kind: "ssh", host: string, make: () => Promise<Backend>): Backend {
  let made: Promise<Backend> | undefined;
  const get = () => {
    const p = (made ??= make().catch((e: unknown) => {
      made = undefined;
      throw e instanceof TransportError ? e : new TransportError(`cannot set up ${kind} for '${host}': ${(e as Error).message}`, kind, { cause: e });
    }));
    return p;
  };
  return {
    kind,
    listTools: async () => (await get()).listTools(),
    callTool: async (name, args, opts) => (await get()).callTool(name, args, opts),
    close: async () => {
      const b = await made?.catch(() => undefined);
      await b?.close();
    },
  };
}
