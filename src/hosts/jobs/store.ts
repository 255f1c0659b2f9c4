import { constants, promises as fsp } from "node:fs";
import type { Logger } from "../../log.js";
import { writePrivateFileAtomic } from "../../util/private-file.js";

/** What mcp-herd remembers of a background job it started. */
export interface JobRecord {
  id: string;
  host: string;
  pid: number;
  pgid: number;
  log: string;
  rc_file: string;
  /** The command (first 2000 characters). */
  command: string;
  via?: string;
  started_at: string;
  /** Set by remote_job_kill. */
  killed_at?: string;
  kill_signal?: string;
  /** Last state seen by remote_job_status. */
  exit_code?: number;
  ended_at?: string;
}

/** Most records kept; the oldest are dropped first. */
const MAX_RECORDS = 1000;
/** How long a writer waits for another process's lock before it gives up and says so. */
const LOCK_WAIT_MS = 10_000;
/** A lock older than this was left by a process that died while holding it. */
const LOCK_STALE_MS = 30_000;

/** What one read of jobs.json found: the records, and the problems (corrupt records, an unreadable file). */
interface Loaded {
  records: Map<string, JobRecord>;
  problems: string[];
}

// Why: jobs outlive mcp-herd, and several mcp-herd processes may share one state folder: every change is a
// read-merge-write of `<stateDir>/jobs.json` (atomic, mode 0600) under a lock file with a bounded wait, and every
// read goes to the file, so no process loses another's records. A corrupt record is skipped and reported.
export class JobStore {
  private writing: Promise<void> = Promise.resolve();
  /** Problems seen on the last read (corrupt records, an unreadable file), for remote_job_list. */
  problems: string[] = [];

  constructor(
    readonly file: string,
    private readonly log: Logger,
  ) {}

  /** Records one job (or replaces the record with the same id). */
  async add(rec: JobRecord): Promise<void> {
    await this.change((all) => {
      all.delete(rec.id);
      all.set(rec.id, rec);
      while (all.size > MAX_RECORDS) all.delete(all.keys().next().value!);
    });
  }

  /** Merges fields into a known record; unknown ids are ignored. */
  async update(id: string, patch: Partial<JobRecord>): Promise<void> {
    await this.change((all) => {
      const rec = all.get(id);
      if (rec) all.set(id, { ...rec, ...patch });
    });
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return (await this.read()).records.get(id);
  }

  /** Every record, newest first. */
  async list(): Promise<JobRecord[]> {
    return [...(await this.read()).records.values()].reverse();
  }

  /** One change at a time in this process, and under the lock against the others. */
  private change(fn: (all: Map<string, JobRecord>) => void): Promise<void> {
    const run = async () => {
      let locked = false;
      try {
        locked = await this.lock();
        const { records } = await this.read(locked);
        fn(records);
        const body = JSON.stringify({ version: 1, jobs: [...records.values()] }, null, 2);
        await writePrivateFileAtomic(this.file, body);
      } catch (e) {
        this.log.warn("cannot write the job records", { file: this.file, error: (e as Error).message });
      } finally {
        if (locked) await fsp.rm(this.lockFile, { force: true }).catch(() => undefined);
      }
    };
    this.writing = this.writing.then(run, run);
    return this.writing;
  }

  private get lockFile(): string {
    return `${this.file}.lock`;
  }

  /** Takes the lock file (O_EXCL); waits at most LOCK_WAIT_MS, breaking a lock left by a dead process. */
  private async lock(): Promise<boolean> {
    await fsp.mkdir(this.file.slice(0, this.file.lastIndexOf("/")) || ".", { recursive: true, mode: 0o700 });
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      try {
        const h = await fsp.open(this.lockFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        await h.writeFile(String(process.pid));
        await h.close();
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const st = await fsp.stat(this.lockFile).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > LOCK_STALE_MS) {
        this.log.warn("removing a stale job records lock", { file: this.lockFile });
        await fsp.rm(this.lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another mcp-herd process holds ${this.lockFile} for more than ${LOCK_WAIT_MS / 1000}s`);
      await new Promise((r) => setTimeout(r, pause + Math.random() * pause));
    }
  }

  /** Reads jobs.json; a record that is not a job is skipped and reported, an unreadable file is kept aside as `.corrupt`. */
  private async read(locked = false): Promise<Loaded> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") this.report([`cannot read ${this.file}: ${(e as Error).message}`]);
      return { records: new Map(), problems: this.problems };
    }
    let parsed: { jobs?: unknown };
    try {
      parsed = JSON.parse(text) as { jobs?: unknown };
    } catch (e) {
      const aside = `${this.file}.corrupt`;
      if (locked) await fsp.copyFile(this.file, aside).catch(() => undefined);
      this.report([`${this.file} is not JSON (${(e as Error).message})${locked ? `; a copy is kept in ${aside}` : ""}; its records are skipped`]);
      return { records: new Map(), problems: this.problems };
    }
    const problems: string[] = [];
    const records = new Map<string, JobRecord>();
    (Array.isArray(parsed?.jobs) ? parsed.jobs : []).forEach((j: unknown, i: number) => {
      if (isRecord(j)) records.set(j.id, j);
      else problems.push(`${this.file}: record ${i + 1} is not a job record; skipped`);
    });
    this.report(problems);
    return { records, problems };
  }

  private report(problems: string[]): void {
    for (const p of problems) if (!this.problems.includes(p)) this.log.warn("job records: " + p);
    this.problems = problems;
  }
}

function isRecord(j: unknown): j is JobRecord {
  const r = j as Partial<JobRecord> | null;
  return !!r && typeof r === "object" && typeof r.id === "string" && typeof r.host === "string" && Number.isInteger(r.pid) && Number.isInteger(r.pgid) && typeof r.log === "string";
}
