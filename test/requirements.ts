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
    tests: ["unit/guard.test.ts :: %j -> %s"],
  },
  {
    id: "sec:http:auth-throttle",
    source: "CWE-307 (excessive authentication attempts)",
    promise: "Repeated authentication failures from one address are slowed down.",
    tests: ["unit/guard.test.ts :: lets a few failures through, then delays with a cap, and resets on success"],
  },
  {
    id: "sec:http:origin-403",
    source: "MCP spec basic/transports (validate Origin: DNS rebinding)",
    promise: "A foreign Origin or a non-loopback Host on a loopback listener gets 403; no Origin is allowed.",
    tests: [
      "integration/foundation-http.test.ts :: answers 403 to a foreign Origin and a foreign Host, and allows no Origin",
      "unit/guard.test.ts :: loopback listener, Host %j -> %s",
      "unit/guard.test.ts :: Origin %j -> %s",
    ],
  },
  {
    id: "sec:http:body-413",
    source: "CWE-400 (uncontrolled resource consumption)",
    promise: "Request bodies over the cap (4 MiB default) get 413 and the server keeps serving.",
    tests: ["integration/foundation-http.test.ts :: answers 413 to a body over the cap (declared and streamed)"],
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
    tests: ["integration/foundation-stdio.test.ts :: answers an unknown tool with a JSON-RPC error and keeps serving"],
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
      "integration/fleet-fanout.test.ts :: runs on every host in parallel: all results, the stopped sshd down, about the time of the slowest host",
      "unit/fanout.test.ts :: runs at most `parallel` at once, keeps order, and turns a throw into that host's failure",
    ],
  },
  {
    id: "fleet:fanout:down-host-bounded",
    source: "issue 5 (fan-out: a down host costs only its connect timeout)",
    promise: "A fan-out call takes about the time of its slowest host, not the sum; a down host is reported as down.",
    tests: ["integration/fleet-fanout.test.ts :: runs on every host in parallel: all results, the stopped sshd down, about the time of the slowest host"],
  },
  {
    id: "fleet:fanout:folded-summary",
    source: "issue 5 (fan-out: summary line, worst exit status, dshbak -c)",
    promise: "The text starts with 'N ok, N failed, N down' and the worst exit status; identical outputs are shown once with the hosts that produced them.",
    tests: [
      "integration/fleet-fanout.test.ts :: keeps distinct outputs apart, reports failures and the worst exit status",
      "unit/fanout.test.ts :: shows identical outputs once with every host that produced them (dshbak -c)",
    ],
  },
  {
    id: "fleet:fanout:groups-globs",
    source: "issue 5 (groups)",
    promise: "Groups from the config and globs work wherever a host name does; a group naming an unknown host is a clear error naming both.",
    tests: [
      "integration/fleet-fanout.test.ts :: takes groups and globs; a group naming an unknown host is a clear error",
      "unit/fanout.test.ts :: names the group and the member when a group names no host",
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
    tests: ["integration/fleet-jobs.test.ts :: refuses job ids that are not host:pid:pgid:/absolute/path", "unit/jobs.test.ts :: refuses %j"],
  },
  {
    id: "fleet:jobs:survive-restart",
    source: "issue 5 (jobs recorded in the state folder)",
    promise: "Jobs are recorded in <stateDir>/jobs.json (atomic, 0600) and remain listable and inspectable after mcp-herd restarts.",
    tests: [
      "integration/fleet-jobs.test.ts :: a job survives a restart of mcp-herd: jobs.json (0600) keeps it and status still answers",
      "unit/jobs.test.ts :: writes jobs.json atomically with mode 0600 and reads it back in a new store",
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
      "unit/jobs.test.ts :: holds output for the first second, then sends whole lines with increasing progress",
    ],
  },
  {
    id: "fleet:cancel:no-leftovers",
    source: "issue 5 (cancellation); MCP spec basic/utilities/cancellation",
    promise: "A caller's cancellation ends the remote command's process group over local, SSH and a peer; no process is left.",
    tests: ["integration/fleet-progress.test.ts :: a cancelled 30 s command on %s leaves no process behind"],
  },
  {
    id: "ops:doctor:broken-config",
    source: "issue 7 (mcp-herd doctor)",
    promise: "doctor names each problem with what to do and exits 1: unreachable peer, refused token, unreadable key, missing known_hosts entry, failed login, bad registry line, missing service binary, invalid config.",
    tests: [
      "integration/doctor.test.ts :: names every failure of a broken config with its fix and exits 1",
      "integration/doctor.test.ts :: reports a config that does not parse as a failed config row and exits 1",
      "unit/doctor.test.ts :: resolves a service's command on the service's PATH, refuses a missing or non-executable one, masks env values",
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
    source: "MCP spec server/resources (error handling: -32002 resource not found)",
    promise: "An unknown URI, or the logs of a service that is not loaded, is a -32002 JSON-RPC error saying what exists.",
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
];
