import { readFileSync } from "node:fs";
import net from "node:net";
import type { Duplex } from "node:stream";
import ssh2 from "ssh2";
import type { AuthenticationType, ClientChannel, ConnectConfig, SFTPWrapper } from "ssh2";
import type { SshTarget } from "./sshconfig.js";
import { HostUnreachableError } from "../host-io.js";
import type { Logger } from "../../log.js";
import { preferredHostKeyAlgorithms, verifyHostKey } from "./hostkey.js";
import { proxyNote, proxySocket } from "./proxy.js";

const { Client, utils } = ssh2;
type Client = InstanceType<typeof Client>;

export interface SshConnOptions {
  target: SshTarget;
  /** Bound on TCP connect + SSH handshake + auth (separate from any command timeout). */
  connectTimeoutMs: number;
  /** known_hosts files to use instead of the target's; new keys are appended to the first. */
  knownHostsFiles?: string[];
  /** Trust and record an unknown host key (never a changed one). Off by default. */
  acceptNewHostKey?: boolean;
  log: Logger;
  keepaliveIntervalMs?: number;
  /** Exec channels open at once (OpenSSH allows 10 sessions per connection; one is the SFTP session, one is kept for kills). */
  maxChannels?: number;
}

/** The hop chain of one live connection: the last client is the target, the others are ProxyJump hops. */
interface Live {
  clients: Client[];
  client: Client;
  closed: boolean;
}

// Why: one pooled ssh2 connection per host: opened on first use, kept alive, reopened after it drops, SFTP session kept open.
export class SshConnection {
  private live: Promise<Live> | undefined;
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private currentSftp: SFTPWrapper | undefined;
  private running = 0;
  private readonly waiters: (() => void)[] = [];
  /** How many SSH connections (TCP + handshake) were opened so far. */
  connects = 0;
  /** How many SFTP sessions were opened so far. */
  sftpOpens = 0;
  private closing = false;

  constructor(private readonly opts: SshConnOptions) {}

  get where(): string {
    const t = this.opts.target;
    return `${t.user}@${t.hostName}:${t.port}`;
  }

  /** The connected client, connecting first if needed. */
  async client(): Promise<Client> {
    if (this.closing) throw new HostUnreachableError(`ssh ${this.where}: connection closed`);
    this.live ??= this.connect().catch((err: unknown) => {
      this.live = undefined;
      throw err;
    });
    const live = await this.live;
    return live.client;
  }

  /** An exec channel running `command`, within the channel limit unless `urgent` (kill requests). */
  async exec(command: string, urgent = false): Promise<{ channel: ClientChannel; release: () => void }> {
    if (!urgent) await this.acquire();
    let released = urgent;
    const release = () => {
      if (released) return;
      released = true;
      this.running--;
      this.waiters.shift()?.();
    };
    try {
      const channel = await this.openExec(command).catch(async (err: unknown) => {
        if (err instanceof HostUnreachableError) throw err;
        // Only a dead connection is replaced: dropping a live one would kill the commands running on it.
        if (!(await this.isDead())) throw new Error(`ssh ${this.where}: could not open an exec channel: ${(err as Error).message}`, { cause: err });
        this.opts.log.debug("the connection died under us; reconnecting once", { host: this.where, error: String(err) });
        this.drop();
        return this.openExec(command);
      });
      return { channel, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** The host's one SFTP session, opened on first use and reopened if it ends. */
  async sftp(): Promise<SFTPWrapper> {
    this.sftpSession ??= this.openSftp().catch((err: unknown) => {
      this.sftpSession = undefined;
      throw err;
    });
    return this.sftpSession;
  }

  async close(): Promise<void> {
    this.closing = true;
    const live = this.live;
    this.live = undefined;
    this.sftpSession = undefined;
    if (!live) return;
    const l = await live.catch(() => undefined);
    if (l) endLive(l);
  }

  /** Forget the current connection (it dropped or misbehaves); the next call reconnects. */
  drop(): void {
    const live = this.live;
    this.live = undefined;
    this.sftpSession = undefined;
    void live?.then(endLive, () => undefined);
  }

  /** True when the connection is gone or its socket can no longer be written. */
  async isDead(): Promise<boolean> {
    const live = await this.live?.catch(() => undefined);
    if (!live || live.closed) return true;
    const sock = (live.client as unknown as { _sock?: { writable?: boolean; destroyed?: boolean } })._sock;
    return !sock || sock.destroyed === true || sock.writable === false;
  }

  private async acquire(): Promise<void> {
    const max = this.opts.maxChannels ?? 8;
    while (this.running >= max) await new Promise<void>((r) => this.waiters.push(r));
    this.running++;
  }

  private async openExec(command: string): Promise<ClientChannel> {
    const client = await this.client();
    return withTimeout(
      new Promise<ClientChannel>((resolve, reject) => {
        client.exec(command, (err, channel) => (err ? reject(err) : resolve(channel)));
      }),
      this.opts.connectTimeoutMs,
      `ssh ${this.where}: opening an exec channel timed out`,
    );
  }

  private async openSftp(): Promise<SFTPWrapper> {
    const client = await this.client();
    const sftp = await withTimeout(
      new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s)))),
      this.opts.connectTimeoutMs,
      `ssh ${this.where}: opening the SFTP session timed out`,
    );
    sftp.on("error", (err: Error) => this.opts.log.debug("sftp session error", { host: this.where, error: err.message }));
    sftp.on("close", () => {
      if (this.currentSftp === sftp) {
        this.currentSftp = undefined;
        this.sftpSession = undefined;
      }
    });
    this.currentSftp = sftp;
    this.sftpOpens++;
    return sftp;
  }

  private async connect(): Promise<Live> {
    const deadline = Date.now() + this.opts.connectTimeoutMs;
    const hops = [...this.opts.target.jumps, { ...this.opts.target, jumps: [] }];
    const clients: Client[] = [];
    try {
      let sock: Duplex | undefined;
      for (const [i, hop] of hops.entries()) {
        const isTarget = i === hops.length - 1;
        sock = sock ? sock : hop.proxyCommand ? await proxySocket({ ...hop, proxyCommand: hop.proxyCommand }, this.opts.log) : await tcpConnect(hop, deadline);
        const client = await this.handshake(hop, sock, deadline, isTarget, i === 0 && !hop.proxyCommand);
        clients.push(client);
        const next = hops[i + 1];
        if (next) sock = await forwardOut(client, next, deadline);
      }
    } catch (err) {
      for (const c of clients) c.end();
      throw err;
    }
    this.connects++;
    const live: Live = { clients, client: clients[clients.length - 1]!, closed: false };
    live.client.on("close", () => {
      live.closed = true;
      for (const c of clients) c.end();
      if (this.live) void this.live.then((l) => l === live && this.drop(), () => undefined);
      this.opts.log.debug("ssh connection closed", { host: this.where });
    });
    return live;
  }

  private async handshake(hop: SshTarget, sock: Duplex, deadline: number, isTarget: boolean, direct: boolean): Promise<Client> {
    const where = `${hop.user}@${hop.hostName}:${hop.port}`;
    const files = (isTarget ? this.opts.knownHostsFiles : undefined) ?? hop.knownHostsFiles;
    const policy = {
      host: hop.hostKeyAlias ?? hop.hostName,
      port: hop.hostKeyAlias ? 22 : hop.port,
      files,
      acceptNew: this.opts.acceptNewHostKey ?? false,
      log: this.opts.log,
      ...(direct ? { certFrom: { host: hop.hostName, port: hop.port } } : {}),
    };
    const preferred = await preferredHostKeyAlgorithms(policy);
    const auth = authAttempts(hop, this.opts.log);
    let refusal: string | undefined;
    const client = new Client();
    const config: ConnectConfig = {
      sock,
      username: hop.user,
      readyTimeout: Math.max(1, deadline - Date.now()),
      keepaliveInterval: this.opts.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: 3,
      hostVerifier: ((key: Buffer, verify: (ok: boolean) => void) => {
        verifyHostKey(key, policy).then(
          (r) => {
            if (!r.ok) refusal = r.message;
            verify(r.ok);
          },
          (err: unknown) => {
            refusal = `host key check failed: ${(err as Error).message}`;
            verify(false);
          },
        );
      }) as unknown as ConnectConfig["hostVerifier"],
      authHandler: ((methodsLeft: AuthenticationType[] | null, _partial: boolean, next: (a: unknown) => void) => {
        const allowed = methodsLeft ?? ["publickey"];
        for (;;) {
          const a = auth.attempts.shift();
          if (!a) return next(false);
          if (allowed.includes("publickey")) return next(a.auth);
        }
      }) as unknown as ConnectConfig["authHandler"],
    };
    if (preferred.length) config.algorithms = { serverHostKey: { remove: preferred, prepend: preferred } as never };
    return new Promise<Client>((resolve, reject) => {
      let settled = false;
      const fail = (reason: string, cause?: unknown) => {
        if (settled) return;
        settled = true;
        client.end();
        sock.destroy();
        reject(new HostUnreachableError(`ssh ${where}: ${reason}${proxyNote(sock)}`, { cause }));
      };
      client.once("ready", () => {
        settled = true;
        resolve(client);
      });
      // A permanent listener: ssh2 may emit more errors after the first (an unhandled one would crash the process).
      client.on("error", (err: Error & { level?: string }) => {
        if (settled) return this.opts.log.debug("ssh client error", { host: where, error: err.message });
        if (refusal) return fail(refusal, err);
        if (err.level === "client-authentication") {
          return fail(`authentication refused (tried: ${auth.tried.join(", ") || "nothing: no agent and no usable key file"}${auth.skipped.length ? `; skipped: ${auth.skipped.join(", ")}` : ""})`, err);
        }
        if (/timed out/i.test(err.message)) return fail(`SSH handshake timed out after ${this.opts.connectTimeoutMs} ms`, err);
        fail(`SSH handshake failed: ${err.message}`, err);
      });
      client.once("close", () => fail(refusal ?? "connection closed during the SSH handshake"));
      try {
        client.connect(config);
      } catch (err) {
        fail(`could not start the SSH handshake: ${(err as Error).message}`, err);
      }
    });
  }
}

/** The auth methods to try, in OpenSSH's order: agent, then each key file (read here, never on argv). */
function authAttempts(hop: SshTarget, log: Logger): { attempts: { auth: unknown }[]; tried: string[]; skipped: string[] } {
  const attempts: { auth: unknown }[] = [];
  const tried: string[] = [];
  const skipped: string[] = [];
  if (hop.agent) {
    attempts.push({ auth: { type: "agent", username: hop.user, agent: hop.agent } });
    tried.push(`agent ${hop.agent}`);
  }
  for (const file of hop.identityFiles) {
    let key: Buffer;
    try {
      key = readFileSync(file);
    } catch (err) {
      skipped.push(`${file} (${(err as NodeJS.ErrnoException).code ?? "unreadable"})`);
      continue;
    }
    const parsed = utils.parseKey(key);
    if (parsed instanceof Error) {
      skipped.push(`${file} (${/encrypted|passphrase/i.test(parsed.message) ? "encrypted: load it into ssh-agent" : parsed.message})`);
      continue;
    }
    attempts.push({ auth: { type: "publickey", username: hop.user, key } });
    tried.push(`key ${file}`);
  }
  if (skipped.length) log.debug("skipped identity files", { host: hop.hostName, skipped });
  return { attempts, tried, skipped };
}

/** A TCP connection with Nagle off (it costs ~45 ms a command), bounded by the connect deadline. */
function tcpConnect(hop: SshTarget, deadline: number): Promise<net.Socket> {
  const where = `${hop.user}@${hop.hostName}:${hop.port}`;
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: hop.hostName, port: hop.port });
    sock.setNoDelay(true);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new HostUnreachableError(`ssh ${where}: connect timed out after ${Math.max(0, deadline - Date.now())} ms`));
    }, Math.max(1, deadline - Date.now()));
    sock.once("connect", () => {
      clearTimeout(timer);
      resolve(sock);
    });
    sock.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why =
        err.code === "ECONNREFUSED" ? "connection refused (is sshd running on that port?)"
        : err.code === "ENOTFOUND" || err.code === "EAI_AGAIN" ? `host name ${hop.hostName} not found`
        : err.code === "EHOSTUNREACH" || err.code === "ENETUNREACH" ? "host unreachable"
        : err.message;
      reject(new HostUnreachableError(`ssh ${where}: ${why}`, { cause: err }));
    });
  });
}

function forwardOut(client: Client, next: SshTarget, deadline: number): Promise<Duplex> {
  return withTimeout(
    new Promise<Duplex>((resolve, reject) => {
      client.forwardOut("127.0.0.1", 0, next.hostName, next.port, (err, stream) => {
        if (err) reject(new HostUnreachableError(`ssh ${next.hostName}:${next.port}: the jump host could not reach it: ${err.message}`, { cause: err }));
        else resolve(stream);
      });
    }),
    Math.max(1, deadline - Date.now()),
    `ssh ${next.hostName}:${next.port}: connecting through the jump host timed out`,
  );
}

function endLive(live: Live): void {
  for (const c of [...live.clients].reverse()) c.end();
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new HostUnreachableError(message)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
