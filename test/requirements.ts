/**
 * Every promise of safety and resilience mcp-herd makes, with where it comes from and the tests that
 * prove it. `test/unit/requirements.test.ts` fails when an id has no test or names a test that does
 * not exist. The README's security section is written from this list.
 */
export interface Requirement {
  id: string;
  /** Where the promise comes from: MCP spec section, CVE class, supervisor semantics, the issue. */
  source: string;
  promise: string;
  /** "file under test/ :: exact test title" (the title string as written in the it(...) call). */
  tests: string[];
}

export const REQUIREMENTS: Requirement[] = [
  {
    id: "sec:http:loopback-default",
    source: "MCP spec 2025-11-25 basic/transports (Security Warning: bind to localhost)",
    promise: "HTTP binds 127.0.0.1 by default; a non-loopback address without a token is refused at start.",
    tests: ["integration/foundation-stdio.test.ts :: refuses a non-loopback listener without a token"],
  },
  {
    id: "sec:http:auth-401",
    source: "MCP spec basic/authorization; issue 2",
    promise: "Without a token, or with a wrong one of any length, /mcp answers 401 and leaks nothing.",
    tests: ["integration/foundation-http.test.ts :: answers 401 without a token, with a wrong token of the same and of another length"],
  },
  {
    id: "sec:http:token-constant-time",
    source: "CWE-208 (observable timing discrepancy)",
    promise: "Tokens are compared in constant time, after hashing, so neither content nor length leaks.",
    tests: ["unit/transports/guard-ct.test.ts :: every compare goes through timingSafeEqual on two 32-byte digests, whatever the presented length, and its answer is the answer"],
  },
  {
    id: "sec:http:auth-throttle",
    source: "CWE-307 (excessive authentication attempts)",
    promise: "Repeated authentication failures from one address are slowed down.",
    tests: [
      "unit/transports/guard.test.ts :: lets a few failures through, then delays with a cap, and resets on success",
      "integration/hardening-http.test.ts :: slows down repeated authentication failures: the 10th bad request takes noticeably longer than the 1st",
    ],
  },
  {
    id: "sec:http:origin-403",
    source: "MCP spec basic/transports (validate Origin: DNS rebinding)",
    promise: "A foreign Origin or a non-loopback Host on a loopback listener gets 403; no Origin is allowed.",
    tests: [
      "integration/foundation-http.test.ts :: answers 403 to a foreign Origin and a foreign Host, and allows no Origin",
      "unit/transports/guard.test.ts :: loopback listener, Host %j -> %s",
      "unit/transports/guard.test.ts :: Origin %j -> %s",
    ],
  },
  {
    id: "sec:http:body-413",
    source: "CWE-400 (uncontrolled resource consumption)",
    promise: "Request bodies over the cap (4 MiB default) get 413 and the server keeps serving.",
    tests: [
      "integration/foundation-http.test.ts :: answers 413 to a body over the cap (declared and streamed)",
      "integration/hardening-http.test.ts :: answers a 10 MiB body with 413 and keeps serving",
    ],
  },
  {
    id: "sec:http:sessions",
    source: "MCP spec basic/transports (session management)",
    promise: "Session ids are random UUIDs; a missing id after init is 400, an unknown or deleted one 404; idle sessions expire.",
    tests: [
      "integration/foundation-http.test.ts :: gives a second client its own session at the same time",
      "integration/foundation-http.test.ts :: answers a bad JSON body with a parse error and a request without session with 400",
      "integration/foundation-http.test.ts :: ends a session on DELETE; the id is unknown afterwards",
      "integration/foundation-http.test.ts :: expires idle sessions",
      "integration/hardening-http.test.ts :: gives every session a distinct random UUID v4",
      "integration/hardening-http.test.ts :: after init: no session header is 400, an unknown id 404, a deleted id 404",
    ],
  },
  {
    id: "rel:stop:signals-5s",
    source: "issue 2",
    promise: "SIGTERM and SIGINT stop the server cleanly within 5 s.",
    tests: ["integration/foundation-http.test.ts :: stops within 5 s on SIGTERM and on SIGINT"],
  },
  {
    id: "rel:stdio:stdin-end",
    source: "MCP spec basic/transports (stdio: the client closes stdin to end)",
    promise: "The stdio server exits when its client closes stdin: no lingering process.",
    tests: ["integration/foundation-stdio.test.ts :: exits when the client closes stdin"],
  },
  {
    id: "sec:stdio:stdout-protocol",
    source: "MCP spec basic/transports (stdio: nothing but MCP messages on stdout)",
    promise: "Logs go to stderr; stdout carries only protocol messages.",
    tests: ["integration/foundation-stdio.test.ts :: keeps stdout for the protocol: logs go to stderr"],
  },
  {
    id: "sec:config:secrets-masked",
    source: "CWE-532 (secrets in logs)",
    promise: "The printed config masks the token, peer tokens and service env values.",
    tests: ["integration/foundation-stdio.test.ts :: prints the config schema and the effective config with secrets masked and origins"],
  },
  {
    id: "sec:config:unknown-keys",
    source: "issue 2",
    promise: "Unknown keys and wrong types in the config are refused with a message naming the key.",
    tests: ["unit/config.test.ts :: refuses %j naming the key", "integration/foundation-stdio.test.ts :: names the key of a bad config file"],
  },
  {
    id: "proto:unknown-tool",
    source: "MCP spec server/tools (error handling: unknown tools are protocol errors)",
    promise: "An unknown tool is a JSON-RPC error; the server answers the next request.",
    tests: [
      "integration/foundation-http.test.ts :: answers an unknown tool with a JSON-RPC error over HTTP and keeps serving",
      "integration/foundation-stdio.test.ts :: answers an unknown tool with a JSON-RPC error and keeps serving"],
  },
  {
    id: "proto:conformance",
    source: "@modelcontextprotocol/conformance",
    promise: "Every conformance scenario that applies passes; the others are listed with their reason.",
    tests: ["integration/conformance.test.ts :: passes every scenario that applies; the rest are listed with reasons"],
  },
  {
    id: "sec:http:session-bound-to-token",
    source: "MCP spec basic/security_best_practices (session hijacking)",
    promise: "A session opened with one token cannot be used with another (403).",
    tests: ["integration/audit-tokens.test.ts :: accepts each named token and refuses a session opened with one token when used with another"],
  },
  {
    id: "sec:audit:who-what-where",
    source: "issue 6 (audit log)",
    promise: "With auditLog set, every call that can change something is recorded as a JSON line (who, what, where, result, duration), mode 0600, with secrets and contents reduced to their size.",
    tests: ["integration/audit-tokens.test.ts :: records who did what, where, with secrets and contents reduced to their size (file mode 0600)"],
  },
  {
    id: "sec:audit:spawns-restarts-ssh",
    source: "issue 6 (audit log of every spawn, remote command and file write)",
    promise: "Over stdio the caller is recorded as who 'stdio'; a service_load spawn (service name, command, env as a count), the supervisor's own crash and restart (who 'supervisor', the service as where, a crash as not ok) and a remote_write_file over SSH (content as its size) are all in the audit log, with no secret value in it.",
    tests: [
      "integration/audit-more.test.ts :: records a service_load spawn as who stdio, what service_load, where the service, with env values reduced to a count",
      "integration/audit-more.test.ts :: records the supervisor's restart after a crash as an event line naming the service",
      "integration/audit-more.test.ts :: records a remote_write_file over SSH with the content reduced to its size",
    ],
  },
  {
    id: "sec:ssh:host-key-strict",
    source: "issue 4 (host keys: ssh-keygen -F semantics, opt-in only); CWE-322 (key exchange without entity authentication)",
    promise: "Through remote_shell, a host whose key changed is refused with an error saying the key changed (possible man-in-the-middle) and how to remove the old entry; an unknown host is refused with an error naming acceptNewHostKey; known_hosts is left untouched. Only with acceptNewHostKey: true for that host is a new key trusted and written to its known_hosts file.",
    tests: [
      "integration/hub-e2e.test.ts :: refuses a host whose key changed, saying the key changed and how to fix it",
      "integration/hub-e2e.test.ts :: refuses an unknown host unless opted in, and says how to opt in",
      "integration/hub-e2e.test.ts :: with acceptNewHostKey: true trusts the new key, records it in known_hosts and runs the command",
    ],
  },
  {
    id: "rel:load:endurance",
    source: "issue 6 (load and endurance)",
    promise: "64 concurrent HTTP clients and 10,000 calls while the child is killed 5 times: every call succeeds or fails naming the service, none hangs; RSS within 20% of warm-up; no leaked fds, processes or sessions.",
    tests: ["integration/endurance.test.ts :: answers every call or fails it clearly, never hangs, and leaks no memory, fds, processes or sessions"],
  },
  {
    id: "fleet:fanout:all-results",
    source: "issue 5 (fan-out)",
    promise: "A host list, glob or group runs the call on every match in parallel; every host's result is returned, one failing or down host never hides another's.",
    tests: [
      "integration/fleet-fanout.test.ts :: runs on every host in parallel: all results, the stopped sshd down, the live hosts running at the same time",
      "unit/hosts/fanout/fanout.test.ts :: runs at most `parallel` at once, keeps order, and turns a throw into that host's failure",
    ],
  },
  {
    id: "fleet:fanout:down-host-bounded",
    source: "issue 5 (fan-out: a down host costs only its connect timeout)",
    promise: "A fan-out call runs its hosts at the same time, not one after another; a down host is reported as down.",
    tests: ["integration/fleet-fanout.test.ts :: runs on every host in parallel: all results, the stopped sshd down, the live hosts running at the same time"],
  },
  {
    id: "fleet:fanout:folded-summary",
    source: "issue 5 (fan-out: summary line, worst exit status, dshbak -c)",
    promise: "The text starts with 'N ok, N failed, N down' and the worst exit status; identical outputs are shown once with the hosts that produced them.",
    tests: [
      "integration/fleet-fanout.test.ts :: keeps distinct outputs apart, reports failures and the worst exit status",
      "unit/hosts/fanout/fanout.test.ts :: shows identical outputs once with every host that produced them (dshbak -c)",
    ],
  },
  {
    id: "fleet:fanout:groups-globs",
    source: "issue 5 (groups)",
    promise: "Groups from the config and globs work wherever a host name does; a group naming an unknown host is a clear error naming both.",
    tests: [
      "integration/fleet-fanout.test.ts :: takes groups and globs; a group naming an unknown host is a clear error",
      "unit/hosts/fanout/fanout.test.ts :: names the group and the member when a group names no host",
    ],
  },
  {
    id: "fleet:fanout:single-host-compatible",
    source: "issue 5 (backward compatibility)",
    promise: "A call naming one host returns exactly the result it returned before fan-out existed.",
    tests: ["integration/fleet-fanout.test.ts :: keeps a single-host call's result as before"],
  },
  {
    id: "fleet:jobs:follow-and-kill",
    source: "issue 5 (background jobs)",
    promise: "remote_shell_bg returns a job id within 2 s; remote_job_output follows the log by byte offset; remote_job_kill ends the whole process group and confirms it, over local and SSH.",
    tests: [
      "integration/fleet-jobs.test.ts :: starts a job on %s, follows it with advancing offsets, kills its whole group",
      "integration/fleet-progress.test.ts :: runs a background job over the peer: start, output, status, kill",
    ],
  },
  {
    id: "fleet:jobs:no-injection",
    source: "CWE-78 (OS command injection)",
    promise: "Job ids reach host scripts only as checked numbers and an absolute path without control characters or '..', passed as environment values, never spliced into a script.",
    tests: ["integration/fleet-jobs.test.ts :: refuses job ids that are not host:pid:pgid:/absolute/path", "unit/hosts/jobs/jobs.test.ts :: refuses %j"],
  },
  {
    id: "fleet:jobs:survive-restart",
    source: "issue 5 (jobs recorded in the state folder)",
    promise: "Jobs are recorded in <stateDir>/jobs.json (atomic, 0600) and remain listable and inspectable after mcp-herd restarts.",
    tests: [
      "integration/fleet-jobs.test.ts :: a job survives a restart of mcp-herd: jobs.json (0600) keeps it and status still answers",
      "unit/hosts/jobs/jobs.test.ts :: writes jobs.json atomically with mode 0600 and reads it back in a new store",
    ],
  },
  {
    id: "fleet:jobs:on-timeout-background",
    source: "issue 5 (on_timeout background: long work must not die with the client's call)",
    promise: "remote_shell with on_timeout 'background' returns a job handle and the output so far when the command outruns its timeout; the job finishes later and its exit code is read back.",
    tests: ["integration/fleet-jobs.test.ts :: on_timeout background returns the handle and the output so far, and the job finishes later with its rc"],
  },
  {
    id: "fleet:progress:lines",
    source: "issue 5 (live progress)",
    promise: "A remote_shell running over 1 s streams its output lines as progress notifications over local, SSH and a peer; progress resets the caller's timeout.",
    tests: [
      "integration/fleet-progress.test.ts :: streams the output of a 3 s command on %s as progress, which also resets the call timeout",
      "unit/hosts/jobs/jobs.test.ts :: holds output for the first second, then sends whole lines with increasing progress",
    ],
  },
  {
    id: "fleet:cancel:no-leftovers",
    source: "issue 5 (cancellation); MCP spec basic/utilities/cancellation",
    promise: "A caller's cancellation ends the remote command's process group over local, SSH and a peer; no process is left.",
    tests: ["integration/fleet-progress.test.ts :: a cancelled 30 s command on %s leaves no process behind"],
  },
  {
    id: "fleet:shell:timeout-kills",
    source: "issue 4 (a timeout that does not kill is a lie)",
    promise: "remote_shell with timeout 1 on a 30 s sleep returns at its timeout over SSH and locally, says killed (not stop_unconfirmed), and no process of the command remains on the host.",
    tests: ["integration/hub-e2e.test.ts :: remote_shell timeout 1 on a 30 s sleep on %s returns at its timeout, long before the sleep ends, killed, with no process left"],
  },
  {
    id: "fleet:shell:output-bound",
    source: "issue 4 (output over a bound is cut with a marker); CWE-400",
    promise: "10 MiB of command output over SSH and locally is cut at the 1 MiB bound on a character boundary, with the truncation marker in the text and truncated: true in structuredContent.",
    tests: ["integration/hub-e2e.test.ts :: 10 MiB of output on %s is cut at 1 MiB with the marker and truncated: true"],
  },
  {
    id: "fleet:progress:fanout-hosts",
    source: "issue 7 (fan-out calls report hosts done / total); MCP spec basic/utilities/progress (progress MUST increase)",
    promise: "A fan-out call with a progress token reports '<host> done (k/N)' as each host finishes, with progress = hosts done and total = N, ending at total; output lines in between keep progress strictly increasing.",
    tests: [
      "integration/fanout-progress.test.ts :: a fan-out over local and 2 sshd reports each host done as progress k/N, increasing, the last equal to the total",
      "unit/hosts/fanout/progress.test.ts :: numbers hosts done / total, output lines in between, always increasing, ending at total",
    ],
  },
  {
    id: "ops:doctor:broken-config",
    source: "issue 7 (mcp-herd doctor)",
    promise: "doctor names each problem with what to do and exits 1: unreachable peer, refused token, unreadable key, missing known_hosts entry, failed login, bad registry line, missing service binary, invalid config.",
    tests: [
      "integration/doctor.test.ts :: names every failure of a broken config with its fix and exits 1",
      "integration/doctor.test.ts :: reports a config that does not parse as a failed config row and exits 1",
      "unit/doctor/doctor.test.ts :: resolves a service's command on the service's PATH, refuses a missing or non-executable one, masks env values",
    ],
  },
  {
    id: "ops:doctor:good-config",
    source: "issue 7 (mcp-herd doctor)",
    promise: "doctor passes a working fleet (an mcp-herd peer with its token, a real sshd with known_hosts) and exits 0.",
    tests: ["integration/doctor.test.ts :: passes a good config (a real sshd with known_hosts, an mcp-herd peer with its token) and exits 0 without printing secrets"],
  },
  {
    id: "ops:doctor:no-secrets",
    source: "issue 7; CWE-532 (sensitive information in output)",
    promise: "doctor never prints a token or a service env value; env shows keys with *** values.",
    tests: [
      "integration/doctor.test.ts :: passes a good config (a real sshd with known_hosts, an mcp-herd peer with its token) and exits 0 without printing secrets",
      "integration/doctor.test.ts :: names every failure of a broken config with its fix and exits 1",
    ],
  },
  {
    id: "ops:events:host-down-up",
    source: "issue 7 (events as MCP log messages); MCP spec server/utilities/logging",
    promise: "A host going DOWN (after two failed probes) is a warning and its coming back an info notifications/message to every session; a session that set logging/setLevel error receives neither.",
    tests: ["integration/events.test.ts :: a host going down reaches a client as notifications/message (warning) and its coming back as info; setLevel error filters the warning; the terminal shows the start line then one line per event"],
  },
  {
    id: "ops:events:terminal",
    source: "issue 7 (a clean terminal session)",
    promise: "mcp-herd --http writes the start line first, then one stderr line per event; --log-format json writes JSON lines.",
    tests: [
      "integration/terminal.test.ts :: --log-level %s: the start line, then one line per service event at or above the level",
      "integration/events.test.ts :: a host going down reaches a client as notifications/message (warning) and its coming back as info; setLevel error filters the warning; the terminal shows the start line then one line per event",
      "integration/events.test.ts :: --log-format json writes the start line and each event as one JSON object per line",
    ],
  },
  {
    id: "ops:resources:read",
    source: "issue 7 (resources); MCP spec server/resources",
    promise: "herd://services, herd://hosts (probe cache, never probes) and herd://services/{name}/logs are listed and readable; the list changes with list_changed when a service is loaded or unloaded.",
    tests: ["integration/resources.test.ts :: lists and reads herd://services, herd://hosts and a service's logs, with list_changed on load and unload"],
  },
  {
    id: "ops:resources:unknown-uri",
    source: "MCP spec server/resources (error handling: resource not found; -32602 as 2026-07-28 requires, clients accept -32002 too)",
    promise: "An unknown URI, or the logs of a service that is not loaded, is a resource-not-found JSON-RPC error (-32602) saying what exists.",
    tests: ["integration/resources.test.ts :: answers an unknown URI and the logs of an unknown service with a resource-not-found error naming what exists"],
  },
  {
    id: "ops:config:schema",
    source: "issue 7 (config with a schema)",
    promise: "config.schema.json equals --print-config-schema, every key has a description, and the README example config carries $schema and is valid.",
    tests: [
      "integration/config-schema.test.ts :: config.schema.json equals --print-config-schema (run `npm run docs` when this fails), and every key has a description",
      "integration/config-schema.test.ts :: the README's example config carries $schema and is a valid config",
    ],
  },
  {
    id: "sup:crash:fail-fast",
    source: "issue 3 (crash: in-flight calls fail at once)",
    promise: "A child dying mid-call fails the call at once (not at its timeout) with an error naming the service, the exit code or signal and the last stderr lines; the service restarts and others keep answering.",
    tests: [
      "integration/services-faults.test.ts :: a crash mid-call fails the call at once with the exit code and stderr tail, then the service restarts",
      "integration/services-faults.test.ts :: a crash kills the grandchild that kept stdout open, and the call still fails at once",
      "integration/services-client.test.ts :: crash mid-call, hang, garbage stdout, exit during initialize, missing binary and a crash loop: clear results, events, others unaffected",
    ],
  },
  {
    id: "sup:crash:loop-gives-up",
    source: "issue 3 (restart policy)",
    promise: "Restarts back off exponentially (1 s doubling to 30 s); more than 5 crashes within 2 min leave the service `crashed` until service_restart; a stable run resets the count.",
    tests: [
      "integration/services-faults.test.ts :: a crash loop ends in `crashed` and service_restart brings it back",
      "integration/services-faults.test.ts :: a run longer than the stable period resets the crash count and backoff",
      "unit/services/search.test.ts :: doubles the delay up to the cap and gives up after more than maxCrashes within the window",
      "unit/services/search.test.ts :: with the defaults (no knob set) waits 1 s doubling to 30 s and gives up on the 6th crash within 2 min",
      "integration/supervisor-policy.test.ts :: a child that crashes soon after each successful start restarts with doubling delays, ends `crashed` after the 6th crash, and service_restart resets the history",
      "integration/supervisor-policy.test.ts :: a run longer than the stable period resets the backoff: the next crash restarts after the initial delay, not the doubled one",
    ],
  },
  {
    id: "sup:hang:restarted",
    source: "issue 3 (hang)",
    promise: "A child that stops answering pings while idle is killed and restarted.",
    tests: [
      "integration/services-faults.test.ts :: a hung child (no answer to pings) is killed and restarted",
      "integration/services-client.test.ts :: crash mid-call, hang, garbage stdout, exit during initialize, missing binary and a crash loop: clear results, events, others unaffected",
    ],
  },
  {
    id: "sup:stdout:garbage-bounded",
    source: "CWE-400 (uncontrolled resource consumption); issue 3",
    promise: "Non-protocol stdout and 1 MiB lines go to the service's logs (truncated), an overlong line is dropped with its size noted, and the server keeps serving.",
    tests: [
      "integration/services-faults.test.ts :: garbage and 1 MiB lines on stdout go to the logs; a 12 MiB line is dropped; the server keeps serving",
      "unit/services/pieces.test.ts :: never holds more than the cap for a stream without newlines",
      "integration/hardening-supervisor.test.ts :: a child that never initializes, and one flooding 64 MiB of stdout without a newline, end `failed` with a clear reason; mcp-herd's memory stays bounded",
    ],
  },
  {
    id: "sup:start:clear-failures",
    source: "issue 3 (exit during initialize, missing binary, failing install)",
    promise: "A service that exits during initialize, never answers it, has no binary or fails its install ends `failed` with a message naming it, why, and the installer's last lines; other services still answer.",
    tests: [
      "integration/services-faults.test.ts :: exit during initialize, no answer to initialize, crash on start and a missing binary end in `failed` with clear messages",
      "integration/services-sources.test.ts :: a failing install ends in `failed` with the installer's last lines; other services still answer",
      "integration/services-client.test.ts :: crash mid-call, hang, garbage stdout, exit during initialize, missing binary and a crash loop: clear results, events, others unaffected",
      "integration/hardening-supervisor.test.ts :: a child that never initializes, and one flooding 64 MiB of stdout without a newline, end `failed` with a clear reason; mcp-herd's memory stays bounded",
    ],
  },
  {
    id: "sup:stop:group-sigkill",
    source: "issue 3 (stop: whole tree, SIGTERM then SIGKILL after the grace period)",
    promise: "Unload stops the child and its grandchildren; a child ignoring SIGTERM is killed after the grace period; SIGTERM of mcp-herd stops every child within 5 s.",
    tests: [
      "integration/services-faults.test.ts :: unload stops the child and its grandchild; a SIGTERM-ignoring child is killed after the grace period",
      "integration/services-e2e.test.ts :: SIGTERM stops every child (even one ignoring SIGTERM) and mcp-herd exits within 5 s",
      "integration/hardening-supervisor.test.ts :: %s: no process of theirs remains",
      "integration/supervisor-policy.test.ts :: service_unload of a child that ignores SIGTERM: killed with SIGKILL after the grace period, pid gone, and the operator is told",
    ],
  },
  {
    id: "sup:orphans:sigkill-herd",
    source: "issue 3 (no child outlives mcp-herd)",
    promise: "No process of a child's tree outlives mcp-herd, even when mcp-herd is killed with SIGKILL.",
    tests: [
      "integration/services-e2e.test.ts :: no process of a child's tree outlives mcp-herd killed with SIGKILL",
      "integration/hardening-supervisor.test.ts :: a grandchild-spawning service: after restart, crash and unload, both pids are gone each time",
      "integration/hardening-supervisor.test.ts :: %s: no process of theirs remains",
    ],
  },
  {
    id: "sup:race:one-child",
    source: "issue 3 (loading a loaded name replaces it cleanly)",
    promise: "Concurrent load, unload and restart of one name never leave two live children; unload or a new load cancels one still installing or in its handshake.",
    tests: [
      "integration/services-faults.test.ts :: 20 parallel load/unload/restart operations on one name never leave two live children",
      "integration/services-faults.test.ts :: unload and a new load cancel a service still in its handshake instead of waiting for it",
      "integration/hardening-supervisor.test.ts :: 20 parallel load/unload/restart plus a call storm: one live child at most, none leaked, final state = the last operation (%s)",
      "integration/supervisor-policy.test.ts :: a restart queued behind an unload of a service still in its first handshake refuses instead of spawning a child nobody owns",
    ],
  },
  {
    id: "sup:state:survives-restart",
    source: "issue 3 (state)",
    promise: "Loaded services are remembered in the state file (0600, atomic, never written through a symlink) and loaded again when mcp-herd restarts; unloaded ones are forgotten.",
    tests: [
      "integration/services-e2e.test.ts :: remembers loaded services across a restart of mcp-herd",
      "integration/services-faults.test.ts :: remembers loaded services (mode 0600, atomic), reloads them, forgets unloaded ones, never writes through a symlink",
    ],
  },
  {
    id: "sup:input:bad-names",
    source: "CWE-22 / CWE-88 (path traversal, argument injection); issue 3",
    promise: "Bad service names, two sources or none, git URLs with --upload-pack or ext::, and refs starting with '-' are refused with clear errors before anything runs.",
    tests: [
      "integration/services-e2e.test.ts :: refuses bad input with clear errors and runs nothing",
      "unit/services/validate.test.ts :: refuses service name %j",
      "unit/services/validate.test.ts :: refuses git URL %j",
      "unit/services/validate.test.ts :: refuses git ref %j",
      "unit/services/validate.test.ts :: refuses npm spec %j",
      "unit/services/validate.test.ts :: refuses python spec %j",
      "unit/services/validate.test.ts :: refuses service URL %j",
      "integration/sources-git.test.ts :: refuses a ref that would be an option, and runs nothing",
      "integration/sources-git.test.ts :: blocks ext:: in git itself too (second layer, validation bypassed)",
      "integration/hardening-input.test.ts :: refuses hostile service names in every service tool; a sentinel beside the services folder survives",
      "integration/hardening-input.test.ts :: refuses git URLs and refs carrying shell text, options or remote helpers; no sentinel is written",
    ],
  },
  {
    id: "sup:env:secrets",
    source: "issue 3 (environment)",
    promise: "A child gets our environment minus mcp-herd's own secrets (token, peer tokens) plus its env; env values never appear in logs or results.",
    tests: [
      "integration/services-registry.test.ts :: passes our environment minus secrets, plus env; inherit_env false gives the minimal set; env values are redacted in logs",
      "integration/hardening-secrets.test.ts :: mcp-herd's token, named tokens and peer tokens reach no child environment, log, tool result, error message or process argv",
    ],
  },
  {
    id: "sup:npm:published-server",
    source: "issue 3 (must show)",
    promise: "@modelcontextprotocol/server-everything loads by npm spec (cached: a second load does not reinstall) and by command; echo works via service_call and the proxied tool; its progress reaches our client.",
    tests: [
      "integration/services-client.test.ts :: loads @modelcontextprotocol/server-everything by npm spec: progress phases, echo both ways, its own progress, cached on the second load",
      "integration/services-e2e.test.ts :: loads @modelcontextprotocol/server-everything by command: echo via service_call and everything__echo, progress reaches us",
    ],
  },
  {
    id: "sup:remote:herd-of-herds",
    source: "issue 5 (services on other hosts)",
    promise: "service_load with host runs the service on that host's mcp-herd peer; calls, proxied tools, list (with host), logs and unload route there; when the peer goes away the service shows unreachable (kept) and answers again when it is back; a restarted hub adopts it.",
    tests: [
      "integration/services-hosts.test.ts :: loads a service on a peer mcp-herd through the hub, calls it both ways, lists it with its host, survives the peer going away, unloads it there",
      "integration/services-hosts.test.ts :: a restarted hub finds its service on the peer again (adopted, not restarted there), also when the peer comes up after it",
      "integration/services-hosts.test.ts :: refuses an unknown host and a host without a peer, running nothing",
    ],
  },
  {
    id: "ops:events:services",
    source: "issue 7 (events as MCP log messages)",
    promise: "Service started, crashed (exit code, last stderr line), restarting in N, gave up and failed reach every session as notifications/message at info / warning / error, honouring logging/setLevel.",
    tests: [
      "integration/services-client.test.ts :: service events reach the client as notifications/message, and logging/setLevel error filters out info events",
      "integration/services-client.test.ts :: crash mid-call, hang, garbage stdout, exit during initialize, missing binary and a crash loop: clear results, events, others unaffected",
    ],
  },
  {
    id: "ops:progress:service-load",
    source: "issue 7 (progress on long work)",
    promise: "service_load reports resolving, installing (installer lines), starting, handshake and N tools as progress notifications, also from a peer's load.",
    tests: [
      "integration/services-client.test.ts :: loads @modelcontextprotocol/server-everything by npm spec: progress phases, echo both ways, its own progress, cached on the second load",
      "integration/services-hosts.test.ts :: loads a service on a peer mcp-herd through the hub, calls it both ways, lists it with its host, survives the peer going away, unloads it there",
    ],
  },
  {
    id: "ops:tools:small-context",
    source: "issue 7 (tool surface for small context windows)",
    promise: "With --no-proxy-tools only service_call is served for services, and service_tools finds their tools by name and description with input schemas.",
    tests: [
      "integration/services-client.test.ts :: loads the node and the plain-Python fixture folders by path, and service_tools finds their tools with schemas",
      "integration/services-e2e.test.ts :: --no-proxy-tools serves only service_call",
    ],
  },
  {
    id: "sec:input:service-names",
    source: "CWE-22 (path traversal), CWE-88 (argument injection), UTS #39 (confusable names); issue 6",
    promise: "Service names outside [a-z0-9][a-z0-9_-]{0,62} ('../../tmp/x', 'foo/bar', '..', empty, 200 characters, NUL, '-rf', '$(id)', homoglyphs) are refused by every service tool; nothing beside the services folder is touched.",
    tests: [
      "integration/hardening-input.test.ts :: refuses hostile service names in every service tool; a sentinel beside the services folder survives",
      "integration/services-e2e.test.ts :: refuses bad input with clear errors and runs nothing",
      "integration/services-registry.test.ts :: refuses the name %j before running anything",
    ],
  },
  {
    id: "sec:input:git",
    source: "CVE-2017-1000117 (ssh://-oProxyCommand), CVE-2015-7545 (ext::), CWE-88; issue 6",
    promise: "git URLs with shell text ($(), ;, backticks), a leading '-', ext:: or fd:: helpers or an option as host, and refs starting with '-', are refused before git runs; git gets an argument array with '--', no prompt, no hooks and a protocol allow-list.",
    tests: [
      "integration/hardening-input.test.ts :: refuses git URLs and refs carrying shell text, options or remote helpers; no sentinel is written",
      "integration/hardening-git.test.ts :: service_load by branch and by commit: every git run gets '--' before the URL and folder, GIT_TERMINAL_PROMPT=0, core.hooksPath=/dev/null, protocol.allow=never; the template hook never runs",
      "integration/hardening-git.test.ts :: the control: a plain clone through the same template runs its hook and writes the sentinel",
      "integration/sources-git.test.ts :: refuses %j and runs nothing",
      "integration/sources-git.test.ts :: refuses a ref that would be an option, and runs nothing",
      "integration/sources-git.test.ts :: blocks ext:: in git itself too (second layer, validation bypassed)",
    ],
  },
  {
    id: "sec:input:package-specs",
    source: "CWE-88; npm/pip spec forms (URL, path, git, alias, direct reference); issue 6",
    promise: "npm and python specs that are URLs, paths, tarballs, git or alias specs, options or shell text are refused before any installer runs.",
    tests: [
      "integration/hardening-input.test.ts :: refuses npm and python specs that are URLs, paths or shell text, running no installer",
      "integration/sources-npm.test.ts :: refuses registry-external specs before running npm",
    ],
  },
  {
    id: "sec:input:install-scripts",
    source: "npm install scripts (postinstall supply-chain attacks); issue 6",
    promise: "Packages install with --ignore-scripts (pip: wheels only): a package's own postinstall and its dependencies' install scripts do not run unless the service sets allow_scripts: true.",
    tests: [
      "integration/hardening-input.test.ts :: installs without running install scripts unless the service sets allow_scripts: true",
      "integration/sources-path.test.ts :: installs a folder's dependencies once with npm (no scripts) and reports installer lines",
    ],
  },
  {
    id: "sec:fs:symlinks",
    source: "CWE-59 (link following); issue 6",
    promise: "A service folder, clone folder or state file replaced by a symlink to a folder outside is never followed for a delete or a write; the error says to remove it by hand.",
    tests: [
      "integration/hardening-fs.test.ts :: never writes the state file through a symlink planted in its place",
      "integration/hardening-input.test.ts :: never deletes through a service folder replaced by a symlink to a folder outside",
      "integration/sources-git.test.ts :: refuses to delete a symlink where its clone folder should be",
      "integration/services-faults.test.ts :: remembers loaded services (mode 0600, atomic), reloads them, forgets unloaded ones, never writes through a symlink",
      "unit/services/sources/detect.test.ts :: removeOwnedDir refuses a symlink and leaves its target",
    ],
  },
  {
    id: "sec:fs:inside-folder",
    source: "CWE-22 (prefix confusion: services/foo2 is not inside services/foo)",
    promise: "Entry points and bins resolve only inside their package folder: '..', absolute paths and sibling prefixes (foo2 vs foo) are refused.",
    tests: [
      "integration/hardening-fs.test.ts :: keeps services/foo2 when services/foo is cloned again or unloaded (no prefix confusion)",
      "unit/services/sources/detect.test.ts :: insideDir refuses escapes and the folder itself",
      "unit/services/sources/detect.test.ts :: never leaves the folder",
    ],
  },
  {
    id: "sec:hosts:registry-only",
    source: "CVE-2017-1000117 class (option-like host names), CWE-88; issue 6",
    promise: "A host must be a registered name (or a glob/group of them): '-oProxyCommand=...', 'a;id' and unknown names are refused before any connection is made.",
    tests: [
      "integration/hardening-input.test.ts :: refuses names not in the registry, option-like and shell-like names before any connection",
      "unit/hosts/router.test.ts :: an unknown host is refused before any connection, listing the known hosts",
      "integration/remote-hub.test.ts :: bad input: unknown host lists the known ones; missing arguments are refused",
    ],
  },
  {
    id: "sec:exec:no-shell-splicing",
    source: "CWE-78 (OS command injection)",
    promise: "Arguments and scripts reach the host as argument arrays or on stdin, never spliced into a shell string, over local and SSH.",
    tests: [
      "integration/ssh-io.test.ts :: passes hostile argv strings through byte-exact, with no shell in between",
      "integration/ssh-io.test.ts :: feeds stdin to the command and never runs it as script",
      "unit/backends/local.test.ts :: passes the command as one argument, never into the script",
    ],
  },
  {
    id: "sec:files:byte-exact",
    source: "CWE-78 / CWE-116 (quoting); issue 6",
    promise: "Remote file tools keep names and contents with quotes, $(), backticks, newlines and 1 MiB byte-exact over local, SSH and the peer; a NUL in a path is refused clearly; no temp file is left.",
    tests: [
      "integration/hardening-files.test.ts :: %s: names and contents with quotes, $(), backticks, newlines and 1 MiB round-trip byte-exact; NUL is refused; no temp file is left",
      "integration/remote-fallback.test.ts :: serves every remote tool over SSH for an SSH-only host, byte-exact with awkward names",
      "integration/ssh-io.test.ts :: writes and reads back %j byte-exact",
      "unit/hosts/toolset/toolset.test.ts :: writes and reads back hostile names and content byte-exact",
    ],
  },
  {
    id: "sec:files:atomic",
    source: "issue 6 (writes are atomic: temp + rename)",
    promise: "A write replaces the file by rename from a temp file in the same folder: a concurrent reader sees the old or the new content, never a torn one, and a failed write leaves no temp file.",
    tests: [
      "integration/hardening-files.test.ts :: %s: a reader never sees a half-written file (temp + rename)",
      "unit/backends/local.test.ts :: leaves no temp file behind when the rename fails",
      "integration/ssh-io.test.ts :: keeps the mode, appends, and leaves no temp file",
    ],
  },
  {
    id: "sec:http:deep-json",
    source: "CWE-674 (uncontrolled recursion); issue 6",
    promise: "JSON nested 10,000 and 1,000,000 deep gets a JSON-RPC error (400), and the server answers the next request.",
    tests: [
      "integration/hardening-http.test.ts :: answers JSON nested 10,000 and 1,000,000 deep with a JSON-RPC error and keeps serving",
    ],
  },
  {
    id: "sec:secrets:never-leak",
    source: "CWE-532 / CWE-214 (secrets in logs and process arguments); issue 6",
    promise: "mcp-herd's token, named tokens and peer tokens never reach a child's or a shell command's environment, stderr (even at debug), a tool result, an error message, a resource or any process's argv.",
    tests: [
      "integration/hardening-secrets.test.ts :: mcp-herd's token, named tokens and peer tokens reach no child environment, log, tool result, error message or process argv",
      "unit/services/pieces.test.ts :: passes our environment minus mcp-herd's secrets, plus the service env",
      "unit/services/pieces.test.ts :: redacts secret values and truncates huge lines",
    ],
  },
  {
    id: "sec:tools:no-shadowing",
    source: "MCP spec server/tools (security: tool poisoning); issue 6",
    promise: "A child's tools are served as <service>__<tool> with validated names and descriptions capped at 4 kB: a child advertising remote_shell, '../x', a 10 kB name or a 1 MB description cannot shadow or flood our tools.",
    tests: [
      "integration/hardening-secrets.test.ts :: a child advertising remote_shell, ../x, a 10 kB name and a 1 MB description cannot shadow or flood our tools",
      "unit/services/provider.test.ts :: skips names that are invalid after prefixing and caps descriptions at 4 kB",
    ],
  },
  {
    id: "rel:exit:no-leftovers",
    source: "issue 6 (mcp-herd killed while running children and a shell)",
    promise: "Killed with SIGTERM or SIGKILL while running 3 children (one ignoring SIGTERM, one with a grandchild) and a shell command in flight, mcp-herd leaves no process of theirs.",
    tests: [
      "integration/hardening-supervisor.test.ts :: %s: no process of theirs remains",
      "integration/services-e2e.test.ts :: no process of a child's tree outlives mcp-herd killed with SIGKILL",
    ],
  },
  {
    id: "sec:lint:easy-mistakes",
    source: "issue 6 (lint rules); DESIGN.md non-negotiables",
    promise: "Lint refuses child_process exec/execSync, shell: true and console.* in src/, and requires promises to be handled (no-floating-promises).",
    tests: [
      "unit/lint-clean.test.ts :: src/, test/, bench/ and scripts/ have no lint errors (npm run lint)",
      "unit/hardening-lint.test.ts :: refuses %s",
      "unit/hardening-lint.test.ts :: allows spawn with an argument array in src/, and console in tests",
      "unit/hardening-lint.test.ts :: has no-floating-promises on for src and test",
    ],
  },
  {
    id: "sec:runner-api:behind-token",
    source: "issue 17 (the runner supervisor listened on 0.0.0.0 with no authentication)",
    promise: "The runner API (config runnerApi, off by default) answers on the --http listener behind the same token and Host/Origin guards as /mcp: 401 without the token or with a wrong one on every runner path, 403 to a foreign Host or Origin; probes without the token get only counts from /health.",
    tests: [
      "integration/runner-api-hardening.test.ts :: answers 401 { error } without the token or with a wrong one on every runner path, and 403 to a foreign Host or Origin",
      "integration/runner-api.test.ts :: a probe without the token still gets today's /health (counts only), the broker with it the runner's list",
      "integration/runner-api.test.ts :: serves none of the runner's paths and keeps today's /health",
    ],
  },
  {
    id: "sec:runner-api:hostile-input",
    source: "issue 17 (the runner built `rm -rf ${path}/*` and `git clone ${gitBranch} ${gitUrl}` shell strings from request fields)",
    promise: "A hostile name, gitUrl, gitBranch, npxPackage, uvxPackage, sourcePath or env name sent to the runner API is answered 400 with the registry's message naming the field and the rule, before any program runs; the broker's loads, calls and unloads are audited without env values or call arguments.",
    tests: ["integration/runner-api-hardening.test.ts :: refuses the runner's injection cases in name, gitUrl, gitBranch, npxPackage, uvxPackage, sourcePath and env with 400 and a clear error; nothing runs"],
  },
  {
    id: "rel:runner-api:drop-in",
    source: "issue 17 (the runner supervisor's broker drives mcp-herd unchanged but for the token)",
    promise: "The runner's /load (folder, git branch, npm, Python), /call, /unload, /list, /logs and /health answer in the runner's shapes and status codes (400 bad request, 404 unknown, 500 failed load with logs, 503 not running), served by the same supervisor as service_*: restarts, env redacted from logs, the body cap of /mcp; a broker hanging up mid-call cancels the call in the service.",
    tests: [
      "integration/runner-api.test.ts :: loads from a folder, a git branch and an npm package; calls, lists, reads logs, replaces, unloads; every answer in the runner's shape and status",
      "integration/runner-api.test.ts :: loads a Python package the way service_load's python source does (a venv and pip, offline from hand-made wheels here) and calls it",
      "integration/runner-api.test.ts :: answers a wrong method with 405, a body that is not JSON or too big with 400 or 413, all as { error }",
    ],
  },
  {
    id: "rel:child:flood-back-pressure",
    source: "issue 12 item 7 (100k notifications/s lost the result, 506 MB RSS, a healthy child killed as hung)",
    promise:
      "Notifications from a child are coalesced and bounded: progress latest-wins at ~20/s per call, other notifications rate-limited through a capped queue (drops counted in the service log); responses never wait behind them, so a flood neither delays the result to the timeout, nor gets the child killed as hung, nor grows mcp-herd's memory without bound.",
    tests: [
      "integration/hardening2-supervisor-flood.test.ts :: does not hold back the answer, get the child killed as hung, forward progress one by one, or balloon memory",
      "integration/endurance.test.ts :: answers every call or fails it clearly, never hangs, and leaks no memory, fds, processes or sessions",
    ],
  },
  {
    id: "rel:child:whole-tree-kill",
    source: "issue 12 item 8 (setsid grandchildren survived unload and mcp-herd's exit, 50 of 50); DESIGN.md non-negotiables",
    promise:
      "Unload, restart and mcp-herd's exit (SIGTERM, and SIGKILL through the reaper) kill a child's whole tree: its process group, its descendants by parent pid read before any signal, and processes that left both (setsid, double fork) found by the tree's MCP_HERD_TREE mark.",
    tests: [
      "integration/hardening2-supervisor-tree.test.ts :: service_unload kills the child and every grandchild that left its group, even one ignoring SIGTERM",
      "integration/hardening2-supervisor-tree.test.ts :: service_restart kills the old tree, and unload the new one",
      "integration/hardening2-supervisor-tree.test.ts :: mcp-herd ended by %s: no pid of the tree remains",
    ],
  },
  {
    id: "rel:child:liveness-under-load",
    source: "issue 12 item 6 (a SIGSTOPped child failed 22 of 22 calls over 60 s and stayed running)",
    promise:
      "A child is pinged on a fixed interval whether calls are in flight or not; one that answers nothing (no ping, no result, no output) within the ping bound is killed as hung and restarted, and the calls it cut off say so.",
    tests: ["integration/hardening2-supervisor-liveness.test.ts :: a child SIGSTOPped while a loop of calls runs is found hung within a bounded time, killed, restarted, and later calls succeed"],
  },
  {
    id: "rel:child:eof-is-death",
    source: "issue 12 item 6 (a child that closed stdout but kept running made every call wait out its timeout)",
    promise: "A child that closes its stdout is treated as exited even if it keeps running: its tree is killed, calls in flight fail at once with a message saying so, and it restarts per the policy.",
    tests: ["integration/hardening2-supervisor-liveness.test.ts :: a child that closes its stdout but keeps running: the call fails fast and says so, the child is killed and restarted"],
  },
  {
    id: "rel:proxy:restarting-message",
    source: "issue 12 item 10 (37,380 'Unknown tool' protocol errors during a 70 s restart)",
    promise:
      "A proxied <service>__<tool> of a service that is loaded but not running answers an isError result naming the service, its state and when it is expected back (a restarting service keeps its tools listed); only a name no service owns is a protocol error.",
    tests: [
      "integration/hardening2-supervisor-restarting.test.ts :: while it restarts: its tools stay listed and answer isError 'restarting ... next attempt in ~N s'; afterwards they work again",
      "integration/hardening2-supervisor-restarting.test.ts :: a service that failed to start: <service>__<tool> answers isError saying so; a name no service owns stays a protocol error",
    ],
  },
  {
    id: "pt:endpoint:as-itself",
    source: "issue 11 (per-service endpoints); DESIGN.md: two ways to serve a service",
    promise: "With --http each running service is served at /services/<name>/mcp as itself: its serverInfo, instructions, capabilities and unprefixed tools, every request and notification forwarded both ways (unknown methods too), results untouched; the conformance suite's everything-server passes every scenario through it that it passes directly.",
    tests: [
      "integration/passthrough-conformance.test.ts :: every scenario that passes against the fixture directly passes through mcp-herd, with no expected failures",
      "integration/passthrough-endpoint.test.ts :: answers initialize with the service's own serverInfo, instructions and capabilities, and its tools unprefixed",
      "integration/passthrough-endpoint.test.ts :: forwards a method and a notification no spec defines, both ways",
      "integration/passthrough-conformance.test.ts :: service_list shows the service's endpoint",
    ],
  },
  {
    id: "sec:endpoint:same-guards",
    source: "issue 11; MCP spec basic/transports (Security Warning)",
    promise: "The per-service endpoints have the same token, Host/Origin and body-size guards as /mcp; a path that is not a valid service name, or an unknown service, is 404.",
    tests: ["integration/passthrough-endpoint.test.ts :: keeps the /mcp guards: no token is 401, a foreign Host is 403, an oversized body is 413, an unknown service is 404"],
  },
  {
    id: "rel:endpoint:restart-invisible",
    source: "issue 11 (supervision continues behind the endpoint)",
    promise: "A restart of a service is invisible to an open session of its endpoint: the same session keeps working with the new process.",
    tests: [
      "integration/passthrough-endpoint.test.ts :: a restart of the service is invisible to an open per-service session",
      "integration/passthrough-endpoint.test.ts :: through the endpoint: progress arrives, cancelling reaches the child, a crash mid-call fails fast and the session lives on",
    ],
  },
  {
    id: "pt:client-requests:routed",
    source: "issue 11 (server-to-client requests); MCP spec client/sampling, client/elicitation, client/roots",
    promise: "A service's sampling, elicitation and roots requests reach the client session whose call is in flight (over stdio and HTTP, also within tasks/result); with two sessions calling one service at once, each request reaches the session whose call caused it.",
    tests: [
      "integration/passthrough-client.test.ts :: a sampling request of the child is answered by this client",
      "integration/passthrough-client.test.ts :: an elicitation request of the child is answered by this client",
      "integration/passthrough-client.test.ts :: the child's roots/list is answered with this client's roots",
      "integration/passthrough-client.test.ts :: each sampling request reaches the session whose call caused it, while both calls are in flight",
      "integration/passthrough-client.test.ts :: lists the root as an allowed folder and reads a file in it, through mcp-herd",
      "integration/passthrough-client.test.ts :: on the per-service endpoint, the stdio child's sampling and roots requests reach that endpoint's client",
      "unit/backends/mcp/client-link.test.ts :: one call in flight: its session; several: the most recent call; none: the last user still open",
      "unit/backends/mcp/client-link.test.ts :: a request naming a task goes to the session that created the task, even while another session's call is newer",
    ],
  },
  {
    id: "rel:client-requests:never-hang",
    source: "issue 11 (bad input: a client without sampling); DESIGN.md: every wait has a bound",
    promise: "When no session can answer a service's request, or the chosen client lacks the capability, the service gets a JSON-RPC error saying so at once; the call completes and the server keeps serving.",
    tests: [
      "integration/passthrough-client.test.ts :: a client without sampling: the child gets a clear JSON-RPC error, the call completes, the server keeps serving",
      "unit/backends/mcp/client-link.test.ts :: with no session at all: a JSON-RPC error naming the service and the method, at once",
      "unit/backends/mcp/client-link.test.ts :: the last user closed and nothing in flight: an error, never a wait",
      "unit/backends/mcp/client-link.test.ts :: %s to a client with %j (params %j) is refused: no '%s' capability",
    ],
  },
  {
    id: "pt:roots:list-changed",
    source: "issue 11; MCP spec client/roots (list changed)",
    promise: "A client's notifications/roots/list_changed reaches the services it has called.",
    tests: ["integration/passthrough-client.test.ts :: the client's roots/list_changed reaches the child it uses"],
  },
  {
    id: "pt:logging:relayed",
    source: "issue 11 (logging); MCP spec server/utilities/logging",
    promise: "A service's log messages reach the sessions (logger prefixed with the service name on /mcp) and service_logs; the most verbose logging/setLevel of any session reaches every service, also after a restart.",
    tests: [
      "integration/passthrough-client.test.ts :: the child's log messages reach the client under the service's name, and service_logs",
      "integration/passthrough-endpoint.test.ts :: the most verbose logging/setLevel of any session reaches the child, also after a restart",
    ],
  },
  {
    id: "rel:logging:flood-bounded",
    source: "issue 11 (bad input: a child that floods log notifications)",
    promise: "A service flooding log messages cannot wedge mcp-herd: at most 100 a second are passed on, the rest are counted in one note, and calls keep being served.",
    tests: [
      "integration/passthrough-endpoint.test.ts :: a child flooding log messages: they are bounded with a counted note, and the server keeps serving",
      "unit/backends/mcp/client-link.test.ts :: past 100 a second the rest are dropped and counted in one note",
    ],
  },
  {
    id: "pt:tools:unchanged",
    source: "issue 11 (tools unchanged); MCP spec server/tools (tasks)",
    promise: "Proxied tools keep _meta, execution, icons, title, annotations and schemas, results keep _meta, and a taskSupport: required tool runs as a task through /mcp (tasks/get, tasks/result reach its service).",
    tests: [
      "integration/passthrough-endpoint.test.ts :: on /mcp a proxied tool keeps _meta, execution, icons, title, annotations and schemas, and its result keeps _meta",
      "integration/passthrough-client.test.ts :: a tool that requires tasks runs as a task through /mcp; its elicitation reaches this client during tasks/result",
    ],
  },
  {
    id: "mcp:aggregate:resources-prompts",
    source: "MCP spec server/resources, server/prompts, server/utilities/completion; issue 11 item 4",
    promise:
      "On /mcp and stdio, the children's resources and templates are listed (our lists paginated) and read under their own URIs, routed to the service that owns each URI or template (first loaded wins a clash, reported in service_list and the log); prompts are served as <service>__<prompt>; prompts/get, completion/complete, resources/subscribe and the child's resources/updated and list_changed go through.",
    tests: [
      "integration/aggregate-content.test.ts :: serves the children's prompts as <service>__<prompt>, and prompts/get reaches the child",
      "integration/aggregate-content.test.ts :: completion/complete reaches the owning child for a prompt (our name) and for a resource template",
      "integration/aggregate-content.test.ts :: lists the children's resources beside ours, each URI once, and reads them under their own URIs",
      "integration/aggregate-content.test.ts :: reports the URI clash in service_list",
      "integration/aggregate-content.test.ts :: forwards resources/subscribe and the child's notifications/resources/updated",
      "integration/aggregate-content.test.ts :: forwards a child's resources/list_changed, with the new resource listed",
      "integration/aggregate-content.test.ts :: an update reaches only the sessions subscribed to that URI, also after another session left",
      "unit/services/aggregate-pieces.test.ts :: walks every item once with opaque cursors",
      "unit/services/aggregate-pieces.test.ts :: gives a URI or template two services claim to the first loaded, and records the loser's clash",
      "unit/services/aggregate-pieces.test.ts :: never lets a service serve herd:// URIs, and prefixes prompts with the service",
    ],
  },
  {
    id: "mcp:aggregate:bad-refs",
    source: "MCP spec server/resources (resource not found); issue 11 (bad input)",
    promise:
      "A resource URI no service owns is resource-not-found (-32602) and a prompt of an unloaded service is -32602, each with a message saying what to do, at once (no hang); the server keeps serving. A foreign cursor is -32602.",
    tests: [
      "integration/aggregate-content.test.ts :: a URI no service owns is resource-not-found (-32602) with one prefix and a clear message; the server keeps serving",
      "integration/aggregate-content.test.ts :: a prompt of a service that was unloaded is a clear error, nothing hangs, the server keeps serving",
      "unit/services/aggregate-pieces.test.ts :: refuses the cursor %j as invalid params",
    ],
  },
  {
    id: "proto:errors:one-prefix",
    source: "issue 11 item 8",
    promise: "Our JSON-RPC error messages carry no 'MCP error N:' prefix on the wire (the client adds it once), also when a child's own error is handed on.",
    tests: [
      "integration/aggregate-content.test.ts :: a URI no service owns is resource-not-found (-32602) with one prefix and a clear message; the server keeps serving",
      "integration/aggregate-content.test.ts :: a child's own JSON-RPC error reaches the client with one prefix",
    ],
  },
  {
    id: "sup:start:ready-first-list",
    source: "issue 11 item 6 (one-shot clients: Inspector CLI, mcp-cli, stateless gateways)",
    promise:
      "The services from the config and the state file are waited for (at most startupWaitSeconds, default 15) before a session's first tools/list, prompts/list and resources/list (and before a call, read or prompt that names one not known yet); one still not running then is left out, logged and noted in service_list.",
    tests: [
      "integration/aggregate-startup.test.ts :: a client that connects right after start sees both mcpServers' tools in its very first tools/list",
      "integration/aggregate-startup.test.ts :: a service still starting after startupWaitSeconds is left out, reported in service_list, and the list is not held longer",
      "integration/aggregate-startup.test.ts :: a service left out at start-up arrives later with tools/list_changed",
      "integration/aggregate-startup.test.ts :: a tools/call right after start, before any list, reaches a service from the config",
    ],
  },
  {
    id: "ops:config:client-configs",
    source: "issue 11 item 7 (Claude Desktop, Claude Code, Cursor, Cline, VS Code configs)",
    promise:
      "A client's config loads unchanged: names outside the service name rule are mapped (logged, noted in service_list), client-only keys are ignored with one warning, \"type\": \"sse\" uses the SSE client transport; wrong types and unknown keys are still refused naming the key.",
    tests: [
      "integration/aggregate-clients.test.ts :: a pasted Cline config loads: the uppercase name is mapped, client-only keys ignored with one warning",
      "integration/aggregate-clients.test.ts :: a \"type\": \"sse\" server is reached with the SSE client transport",
      "integration/aggregate-clients.test.ts :: wrong types are still refused, naming the key",
      "unit/services/aggregate-pieces.test.ts :: maps names of mcpServers and VS Code servers, keeping valid ones and services' own names",
      "unit/services/aggregate-pieces.test.ts :: drops client-only keys with one note, and reads Cline's transportType and streamableHttp",
    ],
  },
  {
    id: "sec:catalog:template-redos",
    source: "CWE-1333 (inefficient regular expression); issue 11 item 4 (templates come from children)",
    promise: "A child's URI template is matched in linear time: a hostile template (30 expressions) against a 4 kB URI answers at once; ambiguous templates (adjacent or two reserved expressions) are never matched.",
    tests: [
      "unit/services/aggregate-pieces.test.ts :: matches a hostile template against a long URI in linear time",
      "unit/services/aggregate-pieces.test.ts :: refuses a broken or ambiguous template rather than matching everything",
    ],
  },
  {
    id: "rel:ssh:no-sftp-exec-path",
    source: "issue 15 item 1 (SFTP is an optimisation, not a requirement)",
    promise: "On a host without an SFTP subsystem (OpenSSH with none, Dropbear without sftp-server) every remote_* tool works over the exec path, byte-exact with hostile names and contents: the content travels base64 inside the script on stdin of sh -s (never on a command line) and is renamed into place on the host; the result's transport says files: exec.",
    tests: [
      "integration/ssh-reach-hosts.test.ts :: %s: shell, write/read/edit byte-exact with a hostile name, list, search, and a background job's exit code",
    ],
  },
  {
    id: "rel:ssh:posix-sh",
    source: "issue 15 items 2 and 3 (whatever shell the host has; a fast path without python3)",
    promise: "A host with only BusyBox (no bash, no python3, no coreutils) runs every remote_* tool and background jobs: commands run under its sh, every script mcp-herd sends is POSIX sh, and commands go through a persistent sh session framed by end markers (a timeout still kills the command's group); results, remote_list_hosts and doctor say which shell and path served.",
    tests: [
      "integration/ssh-reach-hosts.test.ts :: %s: shell, write/read/edit byte-exact with a hostile name, list, search, and a background job's exit code",
      "integration/ssh-reach-hosts.test.ts :: remote_list_hosts says which paths serve each host",
      "integration/ssh-reach-hosts.test.ts :: doctor reports per host: SFTP yes/no, shell, agent or fallback, ProxyCommand",
      "integration/ssh-reach-session.test.ts :: runs commands on one channel: output without a final newline, stderr, rc, stdin, env, cwd, marker look-alikes",
      "integration/ssh-reach-session.test.ts :: a timeout kills the command's group and the session goes on; a daemon on stdout does not hold the result",
      "integration/ssh-reach-session.test.ts :: commands at once: one on the session, the others on their own exec channels, all correct",
    ],
  },
  {
    id: "sec:ssh:proxycommand",
    source: "issue 15 item 4; DESIGN.md non-negotiables (the one shell string)",
    promise: "A host reachable only through an ssh_config ProxyCommand is reached: the command (tokens %h %p %r %n %% expanded as OpenSSH does) runs as OpenSSH runs it, /bin/sh -c 'exec <command>', the one string mcp-herd hands a shell, and it comes from the user's own ssh_config, never from tool input; a host or user name holding shell metacharacters is never expanded into it (as OpenSSH 9.6 refuses).",
    tests: [
      "integration/ssh-reach-trust.test.ts :: reaches a host only a ProxyCommand can reach, with %h %p %r %n %% expanded as OpenSSH does",
      "unit/backends/ssh/sshconfig.test.ts :: takes ProxyCommand with %h %p %r %n %% expanded as OpenSSH does",
      "unit/backends/ssh/sshconfig.test.ts :: refuses to put the user %j into a ProxyCommand",
    ],
  },
  {
    id: "sec:ssh:host-certificates",
    source: "issue 15 item 5 (OpenSSH PROTOCOL.certkeys, known_hosts @cert-authority and @revoked)",
    promise: "A host key certified by a CA listed @cert-authority for the host is accepted only when the certificate is for exactly that key, is a host certificate, verifies under that CA, names the host as a principal and is valid now; the same key marked @revoked, a revoked CA, another CA and an uncertified key are refused with a message saying why.",
    tests: [
      "integration/ssh-reach-trust.test.ts :: accepts a host key signed by the CA listed as @cert-authority",
      "integration/ssh-reach-trust.test.ts :: refuses the same key marked @revoked, a revoked CA, another CA's certificate and an uncertified key, saying why",
      "unit/backends/ssh/hostcert.test.ts :: refuses %s for %s",
      "unit/backends/ssh/hostcert.test.ts :: refuses a certificate for another key, and a tampered signature",
    ],
  },
  {
    id: "rel:jobs:shared-state-folder",
    source: "issue 15 item 6 (one state folder, several processes)",
    promise: "Two mcp-herd processes sharing a state folder never lose each other's job records (40 jobs started at once, all listed by both); a corrupt record is skipped and reported, a file that is not JSON is kept aside as .corrupt, and neither is fatal.",
    tests: [
      "integration/ssh-reach-state.test.ts :: each starts 20 background jobs at once: all 40 are listed by both afterwards",
      "integration/ssh-reach-state.test.ts :: a corrupt record is skipped and reported; the others stay listed",
      "integration/ssh-reach-state.test.ts :: a file that is not JSON is kept aside as .corrupt and the server goes on",
    ],
  },
  {
    id: "rel:ssh:exit-status-ends-wait",
    source: "issue 12 item 10 (SSH parts)",
    promise: "Over SSH a command's exit status ends the wait: a command that leaves a daemon holding stdout returns its own rc (not 'timed out ... killed'), and a timeout stays the timeout given, call after call.",
    tests: [
      "integration/ssh-reach-timeouts.test.ts :: %s path: a command that leaves a daemon on stdout returns its rc at once, not 'timed out ... killed'",
      "integration/ssh-reach-timeouts.test.ts :: %s path: a 2 s timeout ends each of three calls in a row, none before it",
    ],
  },
  {
    id: "rel:spawn:failure-is-result",
    source: "issue 12 item 1 (EMFILE under ulimit -n 128 killed mcp-herd)",
    promise: "A process that cannot be started (no fds left, missing binary) is an isError result naming the cause; every spawn in src/ attaches its error listener first, so the server keeps serving.",
    tests: ["integration/hardening2-spawn.test.ts :: 80 concurrent remote_shell: each answers (ok or a clear EMFILE error), the server keeps serving, no command is left running"],
  },
  {
    id: "rel:stdio:oversize-message",
    source: "issue 12 item 2 (one 11 MB request left stdio deaf for good)",
    promise: "On stdio a message over 10 MiB is never buffered whole: a request gets a JSON-RPC error (-32600) naming the limit, anything else is dropped with a logged error, and the transport keeps serving; if the transport still closes by itself, mcp-herd says so and stops instead of lingering deaf.",
    tests: [
      "integration/hardening2-stdio.test.ts :: an 11 MB remote_write_file gets a clear JSON-RPC error, writes nothing, and the next calls are answered",
      "integration/hardening2-stdio.test.ts :: an oversize message without an id is dropped with a logged error, and the server keeps serving",
      "unit/transports/stdio-lines.test.ts :: passes whole lines up to the bound however they are chunked, and drops a longer one with its size",
      "unit/transports/stdio-lines.test.ts :: never hands on a partial line, and never buffers a dropped line",
    ],
  },
  {
    id: "rel:result:message-bound",
    source: "issue 12 item 3 (2 MB of NUL bytes made a 12 MiB message that dropped the SDK client)",
    promise: "A host tool result (local, SSH and what a peer answers, every host tool, and a fan-out over many hosts as a whole) is at most 6 MiB of JSON on the wire: both copies of each stream and every escape counted; over it the biggest strings are cut in the middle with a marker and truncated set, and the client connection stays up.",
    tests: [
      "integration/hardening2-bound.test.ts :: over %s on %s: 2 MB of NUL bytes on stdout and stderr stays under 6 MiB of JSON, says it was cut, and the connection lives on",
      "integration/hardening2-bound.test.ts :: a result under the bound is untouched: 1 MiB of plain text on each stream comes back whole",
      "integration/hardening2-bound.test.ts :: a fan-out over local and SSH, each printing 2 MB of NUL bytes, is one message under 6 MiB that says it was cut",
      "integration/hardening2-bound-peer.test.ts :: an lmcp host answering 3 MB of NUL bytes (18 MiB of JSON) reaches the stdio client under 6 MiB, marked, and the client lives on",
      "unit/hosts/toolset/bound.test.ts :: counts JSON bytes exactly: %s",
      "unit/hosts/toolset/bound.test.ts :: cuts both copies of big streams until the whole result fits, keeping start and end, flagging truncated",
    ],
  },
  {
    id: "sec:http:body-deadline",
    source: "issue 12 item 4 (requestTimeout = 0: a slow body held its connection forever)",
    promise: "An HTTP request body must arrive within http.bodyTimeoutSeconds (default 30) of its headers, else 408 and the connection is closed; 50 stalled bodies at once leave no fd behind.",
    tests: [
      "integration/hardening2-http.test.ts :: a body slower than the deadline gets 408 and its socket is closed",
      "integration/hardening2-http.test.ts :: 50 refused or stalled sockets at once all end within the bound and leave no fd behind",
    ],
  },
  {
    id: "sec:http:refusal-closes",
    source: "issue 12 item 4 (a 401 did not end the connection while bytes kept coming; 420 such sockets used every fd)",
    promise: "Every refusal (401, 403, 404, 408, 413, ...) is answered with Connection: close and its connection ends within about a second even while the client keeps sending.",
    tests: [
      "integration/hardening2-http.test.ts :: a 401 while the client keeps sending is answered, then the socket is closed",
      "integration/hardening2-http.test.ts :: a 403 (bad Host) and a 413 while the client keeps sending are answered, then the socket is closed",
      "integration/hardening2-http.test.ts :: 50 refused or stalled sockets at once all end within the bound and leave no fd behind",
    ],
  },
  {
    id: "rel:files:fifo-never-blocks",
    source: "issue 12 item 5 (a stat/open race onto a FIFO filled libuv's file threads and froze every file tool)",
    promise: "Local file reads open with O_NONBLOCK and refuse what fstat shows is not a regular file, so a path swapped for a FIFO is a clear error and the other file tools keep answering.",
    tests: [
      "integration/hardening2-files.test.ts :: opening a FIFO for reading returns at once with a refusal (8 at once, more than libuv's 4 file threads)",
      "integration/hardening2-files.test.ts :: a file swapped for a FIFO between stat and open: every read_file answers and the other file tools keep answering",
    ],
  },
  {
    id: "rel:files:edit-conflicts",
    source: "issue 12 item 9 (with another process appending, 11,534 of 20,000 appended lines were lost to remote_edit_file)",
    promise: "edit_file replaces a file only if it still has the content the edit was computed from (checked right before the rename, with the old file held open so appends that race the rename are carried over); when it changed, the edit is re-read and re-applied, and after 5 attempts it reports a conflict and writes nothing.",
    tests: ["integration/hardening2-edit.test.ts :: 30 edits (3 at a time) while another process appends 4000 lines: every line and every edit is in the file"],
  },
  {
    id: "rel:files:paging-big-files",
    source: "issue 12 item 10 (paging a 2 GB sparse file: wrong tail, a TypeError, an endless offset loop)",
    promise: "read_file pages through files over its 16 MiB load bound correctly: tail answers the right lines, a line over the output bound comes back cut with the next offset past it, so following 'continue with offset' always reaches the end.",
    tests: [
      "integration/hardening2-paging.test.ts :: 2 GB: tail 3 answers the right lines (no TypeError), stopping before the giant line with where to continue",
      "integration/hardening2-paging.test.ts :: 256 MiB: tail 1 is the last line, and following 'continue with offset' walks every line once, the giant one cut",
    ],
  },
  {
    id: "rel:state:corrupt-backup",
    source: "issue 12 item 10 (a corrupt state file was overwritten with no backup: services lost)",
    promise: "A state file that cannot be parsed, or holds entries no longer valid, is copied beside itself (state.json.bad-<time>-<pid>, mode kept, never overwriting an earlier copy) with an error naming the copy, before any save replaces it.",
    tests: ["integration/hardening2-state.test.ts :: %s: a copy is kept beside it with a clear message, and a later save does not touch the copy"],
  },
  {
    id: "rel:http:sessions-in-use-and-eviction",
    source: "issue 12 item 10 (a listen-only SSE stream did not count as activity; 503 for up to 31 min once the session cap was reached)",
    promise: "An HTTP session with a request or a listen-only SSE stream open is in use and never expires; at the session cap a new client gets a session by evicting the least recently used idle one, and 503 only when every session is in use.",
    tests: [
      "integration/hardening2-sessions.test.ts :: a session whose only traffic is an open listen-only SSE stream outlives sessionIdleSeconds; one without is expired",
      "integration/hardening2-sessions.test.ts :: at the session cap a new client gets a session: the idlest one is evicted, busy ones are kept, 503 only when all are in use",
    ],
  },
  {
    id: "rel:call:client-gone-cancels",
    source: "issue 12 item 10 (a client that disconnects mid-call does not cancel the call)",
    promise: "A call whose client is gone is cancelled: over HTTP a POST whose connection drops before its answer cancels its requests (no event store, so the answer could never be delivered); over stdio stdin closing stops the server and its commands; the command's process tree is stopped.",
    tests: [
      "integration/hardening2-cancel.test.ts :: over HTTP: the POST's connection dropped mid-call stops the command, and the session keeps serving",
      "integration/hardening2-cancel.test.ts :: over stdio: stdin closed mid-call stops the command and the server, no process left",
    ],
  },
  {
    id: "rel:shell:stop-tells-the-truth",
    source: "issue 12 item 10 (a TERM-ignoring process in another group survived while the result said the group was killed)",
    promise: "A local shell that is stopped (timeout, cancel) has its group and every descendant by parent pid (also ones that moved group with setsid) signalled, SIGKILL after the grace; 'killed' is claimed only once none of them is running, else stop_unconfirmed.",
    tests: ["integration/hardening2-kill.test.ts :: a TERM-ignoring process moved to another group with setsid is killed too, and 'killed' is only claimed once it is gone"],
  },
  {
    id: "rel:state:honest-save-errors",
    source: "issue 12 item 10 (a state folder that cannot be written was only a stderr warning while service_load reported success)",
    promise: "When the state file cannot be written, service_load still loads the service but its result says it will not be restored after a restart, and why (state_error).",
    tests: ["integration/hardening2-state.test.ts :: service_load succeeds, and its result says the service will not be restored after a restart, and why"],
  },
  {
    id: "perf:child:light-watchdog",
    source: "issue 14 item 4 (the reaper was a second Node process, 39 MiB)",
    promise:
      "The process that kills every child tree when mcp-herd dies (even by SIGKILL) is one small sh watchdog under 2 MiB, not a second Node process; with three children (one ignoring SIGTERM, one with a grandchild) a SIGKILL of mcp-herd leaves no process of theirs, and the watchdog exits too.",
    tests: [
      "integration/watchdog-light.test.ts :: is one sh process under 2 MiB beside the child, and after SIGKILL of mcp-herd neither it nor the child remains",
      "integration/hardening-supervisor.test.ts :: %s: no process of theirs remains",
      "integration/hardening2-supervisor-tree.test.ts :: mcp-herd ended by %s: no pid of the tree remains",
    ],
  },
  {
    id: "pt:content:requests-to-caller",
    source: "issue 11 item 2 (follow-up: resources/read, prompts/get, completion/complete on /mcp)",
    promise: "A child's own request (roots, sampling, elicitation) while it answers a resources/read, prompts/get or completion/complete on /mcp goes to the session whose request is in flight, as for tools/call; a session without the capability makes it fail with the reason, never a hang.",
    tests: [
      "integration/aggregate-content-requests.test.ts :: each of two sessions gets its own roots back (the README's rule 2: the session whose call is in flight)",
      "integration/aggregate-content-requests.test.ts :: a calling session without the roots capability makes the child's request fail with a reason, not hang",
    ],
  },
  {
    id: "pt:endpoint:one-session-table",
    source: "issue 11 item 1 (follow-up: per-service sessions under /mcp's maxSessions and idle expiry)",
    promise: "Per-service endpoint sessions live in the same session table as /mcp's: maxSessions bounds both together, a freed per-service slot serves /mcp, an idle per-service session expires with the same sweep, and a per-service session id is not accepted at /mcp.",
    tests: [
      "integration/passthrough-sessions.test.ts :: with maxSessions 3, one /mcp session and two per-service sessions fill the cap for both endpoints",
      "integration/passthrough-sessions.test.ts :: at the cap an idle per-service session is evicted to make room for a new /mcp session",
      "integration/passthrough-sessions.test.ts :: a per-service session id is not a /mcp session, and an idle per-service session expires with the /mcp sweep",
    ],
  },
  {
    id: "pt:endpoint:restart-list-changed",
    source: "issue 11 item 1 (follow-up: a restart is invisible except for calls in flight)",
    promise: "When a service restarts, its per-service endpoint sessions get notifications/tools/list_changed (when its tools differ), prompts/list_changed and resources/list_changed, and then list the new run's tools, prompts and resources.",
    tests: ["integration/passthrough-sessions.test.ts :: a session hears tools, prompts and resources list_changed when the service restarts with other lists, and lists the new ones"],
  },
  {
    id: "pt:endpoint:closed-at-unload",
    source: "issue 11 item 1 (follow-up: sessions of an unloaded service)",
    promise: "Unloading a service closes its per-service endpoint sessions: an open GET stream ends, and the next request is a 404 whose message names the service and says it was unloaded.",
    tests: ["integration/passthrough-sessions.test.ts :: unloading the service ends the session's open GET stream, and its next request is a 404 naming the service"],
  },
  {
    id: "pt:remote:content-on-hub",
    source: "issue 11 item 4 (follow-up: services on another host's mcp-herd)",
    promise: "A service run by another host's mcp-herd has its resources, prompts and completions served on the hub's /mcp (through that mcp-herd's /services/<name>/mcp with the host's token); the child's roots request while it answers reaches the hub's calling session; after the service restarts there the hub serves the new lists.",
    tests: [
      "integration/aggregate-remote-content.test.ts :: lists them, reads and gets them, completes, and the child's roots request reaches the hub's calling session",
      "integration/aggregate-remote-content.test.ts :: after the service restarts on its host, the hub serves the new run's prompts and resources",
      "integration/aggregate-remote-content.test.ts :: an unknown resource of the host is still a clear resource-not-found error (-32602)",
    ],
  },
  {
    id: "house:layers-lint",
    source: "issue 13 items 1 and 3 (layers with one direction; boundaries in lint)",
    promise: "Every folder's allowed imports are written once in eslint.config.js; an import against the grain (a backend importing the hub, the base importing a backend, a tool building a backend, a transport importing tools, ...) fails lint, and so npm test, with a message naming the layer rule; src/ passes it.",
    tests: [
      "unit/layers-lint.test.ts :: refuses %s, naming the rule",
      "unit/layers-lint.test.ts :: allows %s",
      "unit/lint-clean.test.ts :: src/, test/, bench/ and scripts/ have no lint errors (npm run lint)",
    ],
  },
  {
    id: "house:architecture-map",
    source: "issue 13 item 4 (a map in the repo)",
    promise: "ARCHITECTURE.md (linked from the README) names the layers, what each folder owns, the Backend seam and the host I/O contract, and the path of a proxied call and of a remote_shell; every folder it names exists under src/ and every folder of src/ is named.",
    tests: [
      "unit/architecture-doc.test.ts :: every folder it names exists under src/",
      "unit/architecture-doc.test.ts :: every folder of src/ is named",
      "unit/architecture-doc.test.ts :: the README links it",
    ],
  },
  {
    id: "rel:state:shared-services",
    source: "issue 16 item 5 (scale out: the state folder may be shared)",
    promise: "Two mcp-herd processes sharing a state folder never lose each other's service records: each load and unload is a read-merge-write of its own record in state.json under the folder's bounded lock (10 s wait, a lock left by a dead process broken after 30 s); an unload on one is a removal no other process's write brings back, also for a record both read at start-up.",
    tests: [
      "integration/scale-state.test.ts :: 40 loads split across both, at once, are all recorded; an unload on A stays removed when B writes again",
      "integration/scale-state.test.ts :: a record both read at start-up and A unloads is not brought back by B's next write; a third process restores exactly the rest",
      "unit/util/file-lock.test.ts :: runs one holder at a time and removes the lock after each, also after a throw",
      "unit/util/file-lock.test.ts :: gives up after the wait with an error naming the lock file, and breaks a lock older than the stale bound",
    ],
  },
  {
    id: "sup:state:follow",
    source: "issue 16 item 5 (replicas behind one address serve the same services)",
    promise: "With --follow-state (opt-in), a replica loads what another process sharing the state folder loads and unloads what it unloads, without writing it back; a burst converges with nothing restarted afterwards; a service that cannot start there is reported in its service_list under the restart policy and not started again by later re-reads; a corrupt file unloads nothing; without the flag nothing is followed.",
    tests: [
      "integration/scale-follow.test.ts :: a service loaded on A runs on B and answers there; unloaded on B, it is gone on A with its process",
      "integration/scale-follow.test.ts :: a burst of loads and unloads on A ends with B running exactly what the file holds, each started once",
      "integration/scale-follow.test.ts :: a service that cannot start on B is reported in B's service_list, under the restart policy, not retried on each re-read",
      "integration/scale-follow.test.ts :: a process without --follow-state keeps its services as they are (opt-in), while its records stay shared",
      "integration/scale-follow.test.ts :: a corrupt state file makes a follower do nothing (no unload), and is copied aside once",
      "integration/scale-git-reuse.test.ts :: B runs A's clone: the folder A's child runs from is not swapped when B starts it",
    ],
  },
  {
    id: "rel:state:watch-bounded",
    source: "issue 16 item 5 (no reload storms)",
    promise: "A follower notices a change through fs.watch, or through a periodic stat when the watch says nothing; events are debounced, one re-read runs at a time and only when the file changed, and the last change is always read.",
    tests: [
      "unit/services/state-watch.test.ts :: fs.watch reports a replace long before the periodic check would, and other files in the folder are ignored",
      "unit/services/state-watch.test.ts :: without fs.watch, the periodic check alone sees the change",
      "unit/services/state-watch.test.ts :: a storm of 200 replaces is a handful of re-reads, one at a time, and the last change is always read",
    ],
  },
  {
    id: "scale:legacy:session-elsewhere",
    source: "issue 16 item 5 (name what cannot be shared)",
    promise: "Behind a round-robin address, a 2025-era session works on the replica that created it (a service loaded on the other replica included); its id sent to another replica is a 404 'Session not found ... Initialize a new one.' at once, and a 1.x SDK client split across replicas fails with it rather than hanging.",
    tests: [
      "integration/scale-replicas.test.ts :: each new session on its own connection initializes and calls a service loaded on the other replica, on whichever replica the connection reached",
      "integration/scale-replicas.test.ts :: a session id sent to the other replica is a clear 404 'Session not found' at once, and a 1.x SDK client reconnecting there gets it too, not a hang",
      "integration/scale-replicas.test.ts :: a 1.x SDK client through the proxy, whose requests open more than one connection, ends at once with 'Session not found' rather than hanging",
    ],
  },
  {
    id: "scale:sessionless:either-replica",
    source: "issue 16 item 5 (calls work on either replica)",
    promise: "Calls that need no session (the runner API's POST /call) work on any replica of a shared state folder: 1,000 calls, each on a new connection through a round-robin proxy, half on each replica, with no error.",
    tests: ["integration/scale-replicas.test.ts :: sessionless calls (the runner API's POST /call) work on either replica: 1,000 calls, each on a new connection, alternate between both with no error"],
  },
  {
    id: "perf:start-early",
    source: "issue 14 item 3 (start fast)",
    promise: "The config file's command services are spawned before mcp-herd's own modules load; the supervisor adopts such a child only when it would start the very same command, arguments, folder and environment (one start, the served pid is the early one), stops every early child it does not adopt, and an early child never outlives mcp-herd: not when the config then fails validation (exit 2), not on SIGKILL while mcp-herd still loads.",
    tests: [
      "integration/start-early.test.ts :: a command service is started once and adopted: the child serving its tools is the one started early",
      "integration/start-early.test.ts :: an early child no service adopts (its entry is overridden) is stopped; the service runs once",
      "integration/start-early.test.ts :: a config file that fails validation ends mcp-herd with exit 2, and the child it started early goes with it",
      "integration/start-early.test.ts :: SIGKILL of mcp-herd while it still loads leaves no child started early",
    ],
  },
  {
    id: "perf:idle-memory",
    source: "issue 14 item 4 (a light tree)",
    promise: "An idle mcp-herd gives back the young generation V8 grew under load: after two quiet reads of the event loop (5 s apart) with a young generation of 8 MiB or more it runs one memory-reducing collection, never under load, again a quiet streak later while the young generation stays large, at most 4 times until work comes back; no V8 flag caps the heap (a capped young generation cost a quarter of the 64-session throughput).",
    tests: [
      "unit/util/idle-memory.test.ts :: gives back after quietChecks quiet reads with a grown young generation, again a quiet streak later while it stays grown, at most 4 times until work comes back",
      "unit/util/idle-memory.test.ts :: never under load, never with a small young generation, and a busy read restarts the quiet streak",
      "unit/util/idle-memory.test.ts :: runs a memory-reducing collection when idle: the heap after it holds no more than before",
    ],
  },
  {
    id: "eras:sdk-v2",
    source: "issue 16 item 1 (move to the v2 packages; @modelcontextprotocol/sdk leaves the runtime)",
    promise: "mcp-herd runs on @modelcontextprotocol/server, client and node (v2); lint refuses the 1.x SDK anywhere in src/ (it stays a test-only legacy client) and any SDK package in tools/.",
    tests: [
      "unit/layers-lint.test.ts :: refuses the 1.x SDK anywhere in src/, and any SDK package in tools/",
      "unit/lint-clean.test.ts :: src/, test/, bench/ and scripts/ have no lint errors (npm run lint)",
    ],
  },
  {
    id: "eras:modern-clients",
    source: "issue 16 item 2 (2026-07-28 clients statelessly: server/discover, per-request _meta, subscriptions/listen, Mcp-* headers)",
    promise:
      "A client pinned to MCP 2026-07-28 reaches mcp-herd over stdio and over HTTP (/mcp and /services/<name>/mcp) without initialize: server/discover names mcp-herd; our tools and the services' <service>__<tool> tools, resources and prompts answer; a service's progress reaches it and its cancellation reaches the service; tool and resource list changes reach it on a subscriptions/listen stream; the token and the Origin check stay in front.",
    tests: [
      "integration/eras.test.ts :: connects in the modern era, without initialize, and server/discover names mcp-herd",
      "integration/eras.test.ts :: lists and calls our own tools and the services' tools (<service>__<tool>)",
      "integration/eras.test.ts :: reads our resources and a service's, and gets a service's prompt",
      "integration/eras.test.ts :: passes a service's progress through to the caller",
      "integration/eras.test.ts :: cancels a call in flight: the call ends at once and the service's handler sees the abort",
      "integration/eras.test.ts :: hears list changes on a subscriptions/listen stream",
      "integration/eras.test.ts :: serves a service as itself on /services/<name>/mcp",
      "integration/eras.test.ts :: keeps the token and the Origin check in front of the modern side",
    ],
  },
  {
    id: "eras:both-at-once",
    source: "issue 16 item 2 and Must show (a v2 client pinned to 2026-07-28 and a 1.x client at the same time)",
    promise:
      "On one mcp-herd, a 2026-07-28 client and a 2025-era 1.x client with its session work at the same time: concurrent tool, service tool, resource and prompt calls each get their own answers; progress and cancellation work for both; a tool list change reaches the session as a notification and the modern client on its listen stream.",
    tests: [
      "integration/eras.test.ts :: both call tools, service tools, resources and prompts concurrently and each gets its own answers",
      "integration/eras.test.ts :: progress and cancellation work for both at once",
      "integration/eras.test.ts :: a tool list change reaches the 1.x session as a notification and the modern client on its listen stream",
    ],
  },
  {
    id: "eras:upstream-auto",
    source: "issue 16 item 3 (url services and HTTP peers: versionNegotiation auto, the verdict kept, re-probed on reconnect)",
    promise:
      "A url service (or a host's peer) with protocol \"auto\" is probed with server/discover and spoken to in 2026-07-28 when it offers it (no session on its side), \"2026-07-28\" pins that era, the default stays the 2025 handshake; tools, progress and a 2026-07-28 service's list changes (on a listen stream) reach our clients.",
    tests: [
      "integration/eras-upstream.test.ts :: the probed and the pinned services are served statelessly (no session on the far side), the default one with its session",
      "integration/eras-upstream.test.ts :: a 2026-07-28 url service's list change reaches this herd on a listen stream, and its client as list_changed",
      "integration/eras-upstream.test.ts :: runs a command on the host through its peer, without a session there",
    ],
  },
  {
    id: "eras:bridge:legacy-child-modern-client",
    source: "issue 16 item 4 and Must show (a legacy stdio child asking for sampling during a call from a modern client: answered)",
    promise:
      "A 2025-era service's sampling/createMessage, elicitation/create or roots/list request during a tools/call, prompts/get or resources/read of a 2026-07-28 client (stdio, /mcp, /services/<name>/mcp) becomes that request's input_required result; the client's retry answers the service's request and the call goes on to its result; a call that asks twice takes two rounds.",
    tests: [
      "integration/eras-bridge.test.ts :: the child's sampling request becomes the client's input_required round, and the answer completes the child's call",
      "integration/eras-bridge.test.ts :: elicitation and roots are bridged the same way",
      "integration/eras-bridge.test.ts :: a call that asks twice in a row takes two rounds and ends with both answers",
      "integration/eras-bridge.test.ts :: a prompt and a resource of the child that ask during prompts/get and resources/read are bridged too",
      "integration/eras-bridge.test.ts :: on /services/<name>/mcp too: the child's requests during a tool call, a prompt and a resource read become the client's rounds",
      "unit/server-bridge.test.ts :: a request of the call becomes the round's result; the retry answers it and nothing stays behind",
    ],
  },
  {
    id: "eras:bridge:bounded",
    source: "issue 16 item 4 (bounded: a modern client that never comes back; pending state per call, unguessable)",
    promise:
      "A bridged call waits at most inputWaitSeconds (default 600) for the 2026-07-28 client's next round: then the service's request fails with an error saying so, the call is cancelled and its continuation forgotten (a late retry is a -32602 'Invalid or expired requestState'). The requestState is a 24-byte random id bound to the caller, the tool and its arguments: another call or another caller cannot resume it. A round whose request is abandoned cancels the call. At most 256 calls wait at once; past that a service's request is refused with the reason.",
    tests: [
      "integration/eras-bridge.test.ts :: a client that never comes back: after inputWaitSeconds the child's request fails with the reason, and the continuation is gone",
      "integration/eras-bridge.test.ts :: a requestState minted for one call does not resume another (other arguments), nor does a made-up one",
      "unit/server-bridge.test.ts :: no retry within the wait: the request fails with the reason, the call is cancelled and forgotten",
      "unit/server-bridge.test.ts :: another caller with the right state cannot resume the call",
      "unit/server-bridge.test.ts :: a round abandoned while the call runs cancels the call and forgets it",
      "unit/server-bridge.test.ts :: at most 256 calls wait at once: the next one's request is refused to its service, which still answers its call",
    ],
  },
  {
    id: "eras:bridge:modern-child-legacy-client",
    source: "issue 16 item 4 and Must show (a modern url child asking for input from a legacy client: answered)",
    promise:
      "A 2026-07-28 url service's input_required result (sampling, elicitation, roots) during a call of a 2025-era client becomes a request pushed to that client's session, and its answer goes back in the service's retry; a 2026-07-28 client calling the same service gets those rounds through mcp-herd as its own input_required rounds.",
    tests: [
      "integration/eras-bridge.test.ts :: the child's input_required sampling becomes a pushed request to the client, and its answer goes back in the child's retry",
      "integration/eras-bridge.test.ts :: elicitation and roots are pushed the same way",
      "integration/eras-bridge.test.ts :: a 2026-07-28 client calling the same child: the input_required rounds reach it through the herd too",
    ],
  },
  {
    id: "eras:bridge:refused",
    source: "issue 16 item 4 (whatever cannot be bridged is a clear error)",
    promise:
      "What cannot be bridged is refused with the reason, never a hang: a client of either era without the capability a request needs (the service's request fails naming the capability); a service's request that has no input_required form (anything but sampling, elicitation and roots) toward a 2026-07-28 client.",
    tests: [
      "integration/eras-bridge.test.ts :: a modern client without the sampling capability: the child's request is refused naming the capability, the call still answers",
      "integration/eras-bridge.test.ts :: a legacy client without the sampling capability gets a clear error naming it",
      "integration/eras-bridge.test.ts :: a request that has no input_required form (custom/ask) is refused to the child with the reason",
    ],
  },
  {
    id: "eras:scale-modern",
    source: "issue 16 item 5 and Must show (two mcp-herd processes behind one round-robin address serve one modern client's run of 1,000 calls with no error)",
    promise:
      "Two mcp-herd replicas with --follow-state on one state folder, behind a round-robin TCP balancer, serve 2026-07-28 clients with no stickiness: one client's 1,000 calls, each on a new connection, all answer with no error and alternate between both replicas; several keep-alive clients at once work with progress; a service such a client loads through the balancer runs on both replicas and its calls work on either.",
    tests: [
      "integration/scale-modern.test.ts :: one modern client, a new connection per request: 1,000 calls of a service tool with no error, routed to both replicas",
      "integration/scale-modern.test.ts :: several keep-alive modern clients at once (each pinned to the connection it opened): 400 calls with progress, no error, both replicas used",
      "integration/scale-modern.test.ts :: a service a modern client loads through the balancer runs on both replicas (--follow-state), and its calls work on either",
    ],
  },
  {
    id: "eras:both-at-once-everywhere",
    source: "issue 16 Must show (a v2 client pinned to 2026-07-28 and a 1.x client, at the same time, over HTTP and over stdio: tools, service tools, remote tools, resources, prompts, progress, cancellation)",
    promise:
      "A client pinned to 2026-07-28 and a 1.x client work at the same time, over HTTP (one mcp-herd) and over stdio (two mcp-herd processes on one state folder and config, one per client): our tools and the services' tools, remote_shell and remote_read_file on this machine and on a host through its mcp-herd peer, a service's resource and ours, a service's prompt, progress, and cancellation that reaches the service.",
    tests: [
      "integration/eras-both.test.ts :: both call our tools and the services' tools concurrently, each getting its own answers",
      "integration/eras-both.test.ts :: both run remote tools at once: on this machine and on a host through its mcp-herd peer",
      "integration/eras-both.test.ts :: both read a service's resource and ours, and get a service's prompt, at once",
      "integration/eras-both.test.ts :: progress reaches both, and both cancel a call in flight: each call ends at once and its service's handler sees the abort",
    ],
  },
  {
    id: "eras:listen-resources",
    source: "issue 16 item 2 (subscriptions/listen for list changes, logs and resource updates): per-resource updates for 2026-07-28 clients",
    promise:
      "A 2026-07-28 client's listen stream that names resource URIs (resourceSubscriptions), over HTTP and stdio, gets the owning service's notifications/resources/updated for them: mcp-herd subscribes at the service while a stream names the URI and unsubscribes once no stream and no 2025 session follows it (counted with the sessions' subscriptions).",
    tests: [
      "integration/eras-listen.test.ts :: subscribes at the service while a stream names the URI, passes its updates on, and unsubscribes once no stream names it",
      "integration/eras-listen.test.ts :: a 2025 session's subscription and a listen stream on the same URI share one subscription at the service",
    ],
  },
  {
    id: "eras:stdio-children",
    source: "issue 16 item 3, stdio half (legacy for stdio children unless a service says protocol auto; cache each verdict, re-probe on restart)",
    promise:
      "A local (stdio) service is spoken to in the 2025 era by default, in 2026-07-28 with \"protocol\": \"auto\" (probed in place, no sibling process) or pinned; its progress, list changes (on a listen stream) and the updates of a resource our client subscribed to (a listen stream naming it) reach our clients. auto falls back to initialize for a 2025-only child, in the same process when it answers the probe with an error and in one more process when it exits on it; a pinned service whose child speaks only 2025 fails to start, saying so; the verdict is kept across the restarts after a crash (no probe) and probed again at service_restart.",
    tests: [
      "integration/eras-stdio-children.test.ts :: a v2 child is spoken to in the 2025 era by default, and in 2026-07-28 when probed (auto) or pinned, one process each",
      "integration/eras-stdio-children.test.ts :: a modern child's tool list change reaches us on its listen stream, and our client as list_changed",
      "integration/eras-stdio-children.test.ts :: our client's resources/subscribe to a modern child's resource becomes a listen stream there, and its updates reach us",
      "integration/eras-stdio-children.test.ts :: auto falls back to initialize for a 2025-only child: in the same process when it answers the probe with an error, in a second one when it exits on it",
      "integration/eras-stdio-children.test.ts :: a pinned service whose child speaks only 2025 fails to start, saying so",
      "integration/eras-stdio-children.test.ts :: the verdict is kept for the restarts after a crash (no probe) and probed again at service_restart",
    ],
  },
  {
    id: "eras:upstream-resources",
    source: "issue 16 item 3 (speak both eras to children and peers): resource subscriptions to a 2026-07-28 url service",
    promise:
      "A subscription our client makes to a resource of a url service spoken to in 2026-07-28 (which has no resources/subscribe) becomes a listen stream naming that URI there: the far side subscribes at its own child, the updates reach our client, and unsubscribing closes the stream and releases the far child's subscription.",
    tests: [
      "integration/eras-upstream-resources.test.ts :: subscribing here opens a listen stream on the far side, which subscribes at its child; updates come back; unsubscribing closes it",
    ],
  },
  {
    id: "perf:output-schema-ids",
    source: "issue 14 item 1 (a hop near the cost of a pipe: SDK clients compiled our output schemas with ajv on every tools/list)",
    promise:
      "Each of mcp-herd's own tools lists its output schema with a distinct $id derived from the schema's content and the same on every list, so an SDK client compiles each schema once per connection instead of on every tools/list; structured results still validate against it.",
    tests: ["integration/foundation-stdio.test.ts :: gives each output schema a distinct $id, the same on every list (a client compiles it once), and its results still validate"],
  },
  {
    id: "eras:stdio-opening",
    source: "issue 16 item 6 (the legacy rows must not get slower): the stdio opening that decides the era",
    promise:
      "On stdio, a 2025 client's initialize is served by a server connected to the transport itself (no two-era queue per message), anything else by the SDK's two-era entry; messages written before the era is decided (pipelined with the first) are all answered, a probe may still fall back to initialize, a modern-pinned connection refuses a later initialize, and a first line that is no JSON or a stray response does not keep a client from being served.",
    tests: [
      "integration/stdio-opening.test.ts :: a 2025 client's initialize, initialized, tools/list and ping in one write are all answered, the initialize first",
      "integration/stdio-opening.test.ts :: a 2026-07-28 client's server/discover and tools/list in one write are answered in the modern era",
      "integration/stdio-opening.test.ts :: a probe that falls back: server/discover, then initialize, is served as a 2025 session",
      "integration/stdio-opening.test.ts :: a first line that is no JSON, then a stray response, then initialize: the client is still served",
    ],
  },
  {
    id: "eras:legacy-call-shape",
    source: "issue 16 item 6 (the legacy rows must not get slower): a 2025 session's tools/call skips the SDK's second zod pass",
    promise:
      "A 2025 session's tools/call is checked for its shape by mcp-herd (a missing name or non-object arguments is -32602 with a clear message, and the next call is answered) and its result handed on without the SDK's second pass; a service's result without content still reaches a 2025 client with an empty content array and its structuredContent.",
    tests: [
      "integration/stdio-opening.test.ts :: a 2025 client's malformed tools/call (no name, arguments not an object) is -32602, and the next call is answered",
      "integration/stdio-opening.test.ts :: a service's result without content reaches a 2025 client with an empty content array, its structuredContent kept",
    ],
  },
  {
    id: "eras:stdio-child-input-required",
    source: "issue 16 (both protocol eras): a 2026-07-28 stdio child's input_required, bridged as a url service's is",
    promise:
      "A local (stdio) service spoken to in 2026-07-28 that answers a tools/call with input_required has its rounds bridged to the caller, as a 2026-07-28 url service's are: a 2025-era client receives them as pushed sampling/elicitation requests and its answers go back in the child's retry; a 2026-07-28 client receives them as its own input_required rounds; on /mcp, stdio and /services/<name>/mcp.",
    tests: [
      "integration/eras-bridge.test.ts :: a 2025-era client gets the child's input_required sampling and elicitation as pushed requests; the answers go back in the child's retry",
      "integration/eras-bridge.test.ts :: a 2026-07-28 client gets the child's rounds as its own input_required rounds",
      "integration/eras-bridge.test.ts :: on /services/<name>/mcp too, for either era's client",
    ],
  },
  {
    id: "eras:listen-resources-per-service",
    source: "issue 16 (both protocol eras): a listen stream on /services/<name>/mcp that names resource URIs",
    promise:
      "A 2026-07-28 client's listen stream on a service's own endpoint (/services/<name>/mcp) that names resource URIs makes mcp-herd subscribe at that service while any stream names the URI (a 2025 child: resources/subscribe; a 2026-07-28 url child: a listen stream there naming it), passes the service's notifications/resources/updated on to the stream, and unsubscribes once the last stream naming it ends; a 2025 session's resources/subscribe on the same endpoint and a /mcp session's subscription to the same URI share that one subscription (a session's unsubscribe, or its end, releases only its own).",
    tests: [
      "integration/eras-listen.test.ts :: a 2025 child: subscribed there while a stream names the URI, its updates reach the stream, unsubscribed once the last stream naming it ends",
      "integration/eras-listen.test.ts :: a stream here and a /mcp session's subscription to the same URI share one subscription at the service",
      "integration/eras-listen.test.ts :: a 2025 session of the same endpoint subscribing and unsubscribing keeps the stream's subscription; its own lasts until it unsubscribes or leaves",
      "integration/eras-listen.test.ts :: a 2026-07-28 url child: the stream here becomes a listen stream there naming the URI, whose updates reach the stream; it ends with the last one here",
    ],
  },
  {
    id: "eras:upstream-listen-reopen",
    source: "issue 16 (both protocol eras): listen streams to a 2026-07-28 url service reopened after the connection drops",
    promise:
      "The listen streams mcp-herd holds open to a 2026-07-28 url service (its list changes, and one per subscribed resource URI) are opened again with bounded backoff (0.25 s doubling to at most 10 s) when they end without mcp-herd closing them, as when the server restarts: after the url server is killed and started again on its port, a resource update and a tools list change still reach a 2026-07-28 client; once the service is unloaded its streams are closed and not opened again.",
    tests: [
      "integration/eras-upstream-resources.test.ts :: after the url server is killed and started again on its port, a resource update and a tools list change still reach the client",
      "integration/eras-upstream-resources.test.ts :: once the service is unloaded, its streams are not opened again after the server restarts",
    ],
  },
  {
    id: "eras:url-tools-list-changed",
    source: "issue 16 (both protocol eras): found while testing listen streams reopened to a url service (its tools list change was never followed)",
    promise:
      "A url service's notifications/tools/list_changed, of either era (a 2025 session's pushed notification, a 2026-07-28 server's listen stream), makes mcp-herd list its tools again, so the new tools are served and our clients get tools/list_changed, as for a local service.",
    tests: ["integration/eras-upstream.test.ts :: a url service's tools list change, in either era, makes this herd list its tools again"],
  },
  {
    id: "sup:call:stdin-closed",
    source: "a session's leftover: a call to a just-killed child said only 'write EPIPE'",
    promise: "A call to a child whose stdin is closed before its exit is seen (killed a moment ago, or it closed its stdin) fails at once saying the service is gone and why, with its stderr tail; other services keep answering.",
    tests: ["integration/services-faults.test.ts :: a call to a child whose stdin is closed (killed a moment ago, its exit not seen yet) says it is gone, not just 'write EPIPE'"],
  },
  {
    id: "rel:child:stop-sigkill-reach",
    source: "issue 18 item 2 (mutation testing of child/kill.ts: two SIGKILL steps no test reached)",
    promise:
      "A stop's SIGKILL reaches what outlived SIGTERM beyond the group: without /proc, a leader that left its group and ignores SIGTERM (tree-kill's walk of its pid); with /proc, a process that carries the tree's mark and was started after the SIGKILL while the tree was still there (the last look before the stop calls it gone).",
    tests: [
      "unit/backends/child/kill-standin.test.ts :: a leader that left its group and ignores SIGTERM gets tree-kill's SIGKILL, while a member that ignores it keeps the group alive",
      "unit/backends/child/kill-standin.test.ts :: a process started after the SIGKILL, while the tree is still there, is found by the mark and gets SIGKILL too",
    ],
  },
  {
    id: "rel:ssh:keyscan-bounded",
    source: "issue 18 item 2 (mutation testing of ssh/hostcert.ts: the ssh-keyscan spawn timeout had no test)",
    promise:
      "Fetching a host's certificates with ssh-keyscan ends in bounded time: a server that trickles its banner (which keeps ssh-keyscan's own -T timeout from firing) is cut off by the spawn timeout (-T + 5 s) and gives no certificate.",
    tests: ["unit/backends/ssh/hostcert-kinds.test.ts :: a server that trickles its banner (ssh-keyscan's -T never fires) is cut off by the spawn timeout: no certificates"],
  },
  {
    id: "eras:listen-side-channel",
    source: "issue 16 item 3 (speak both eras to children and peers): found with conformance 0.2.0-alpha.12, whose reference server answers subscriptions/listen without an SSE stream",
    promise:
      "A 2026-07-28 url service whose list-change stream (subscriptions/listen) does not open is still served: mcp-herd waits for it at most 5 s (not the 30 s handshake bound, after which the start failed), logs a warning that its list changes are not followed, and keeps trying in the background.",
    tests: ["integration/eras-upstream-resources.test.ts :: its tools answer within seconds of the load, a warning says its list changes are not followed, and the server keeps serving"],
  },
  {
    id: "proto:conformance-2026-07-28",
    source: "issue 16 (both protocol eras): the conformance suite that covers 2026-07-28 (@modelcontextprotocol/conformance 0.2.0-alpha.12, --requirements 2026-07-28)",
    promise:
      "Against /mcp, every scenario the 2026-07-28 requirement set scores passes except those that need the suite's own fixture tools, resources and prompts, each listed with its reason (the suite judges the rest and exits 0); on /services/<name>/mcp, a method the service does not know is an HTTP 404 with -32601 for a 2026-07-28 request, as on /mcp, while a known method's error stays on 200.",
    tests: [
      "integration/conformance-modern.test.ts :: passes every required scenario that does not need the suite's fixture tools, resources and prompts",
      "integration/eras.test.ts :: a method the service does not know is a 404 with -32601 on /services/<name>/mcp, as on /mcp; a known method's error stays on 200",
    ],
  },
  {
    id: "eras:modern-404-in-band",
    source: "issue 16 item 3: found with conformance 0.2.0-alpha.12 through /services/<name>/mcp",
    promise:
      "A 2026-07-28 service's 404 that carries a JSON-RPC error (an unknown method, by that revision's HTTP rules) is handed on as that error, not taken for an expired session: the connection is not dropped and re-made, so the service's scored conformance scenarios pass through /services/<name>/mcp as they do directly, but those listed with their reason.",
    tests: ["integration/conformance-modern.test.ts :: every scenario that passes against the everything-server directly passes through mcp-herd, but those listed with their reason"],
  },
  {
    id: "eras:modern-hop-transparent",
    source: "issue 16 item 4: found with conformance 0.2.0-alpha.12 through /services/<name>/mcp (input-required-result-basic-elicitation, -multi-round, -capability-check; server-stateless's test_missing_capability)",
    promise:
      "On /services/<name>/mcp, between a 2026-07-28 client and a service spoken to in 2026-07-28, the hop is transparent: the service's input_required result (its own inputRequests keys and requestState) reaches the client unchanged, the client's retry (inputResponses, requestState) reaches the service unchanged, and the service sees the client capabilities of the caller's request envelope, not mcp-herd's own; other era combinations and /mcp keep the bridge.",
    tests: [
      "integration/eras-transparent.test.ts :: the service's own inputRequests keys and requestState reach the client, and its retry reaches the service as it came",
      "integration/eras-transparent.test.ts :: the service sees the client capabilities of the caller's request, not mcp-herd's own",
      "integration/conformance-modern.test.ts :: every scenario that passes against the everything-server directly passes through mcp-herd, but those listed with their reason",
    ],
  },
  {
    id: "eras:service-load-protocol",
    source: "issue 16 item 3, noticed in session 4: service_load had no protocol argument, only a config entry could choose the era",
    promise:
      "service_load takes protocol (legacy, auto, 2026-07-28) as a config entry does: the child is spoken to in that era, a value outside the three is refused with the choices named and nothing loaded, and the choice is kept in the state file for the next start.",
    tests: ["integration/eras-stdio-children.test.ts :: service_load takes the era too: protocol \"2026-07-28\" speaks it to the child, a bad value is refused naming the choices, and the choice is remembered"],
  },
  {
    id: "input:tool-unknown-argument",
    source: "noticed in session 5: service_load dropped a protocol argument it did not know, unseen (tool inputs stripped unknown keys)",
    promise: "mcp-herd's own tools refuse an argument they do not take (a misspelt one, say) with an isError result naming it and the arguments the tool takes, and do nothing; their input schemas say additionalProperties: false.",
    tests: ["integration/eras-stdio-children.test.ts :: service_load takes the era too: protocol \"2026-07-28\" speaks it to the child, a bad value is refused naming the choices, and the choice is remembered"],
  },
];
