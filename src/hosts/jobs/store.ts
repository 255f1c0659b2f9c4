import { promises as fsp } from "node:fs";
import type { Logger } from "../../log.js";
import { withFileLock } from "../../util/file-lock.js";
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
    const run = () =>
      withFileLock(
        this.file,
        async () => {
          const { records } = await this.read(true);
          fn(records);
          await writePrivateFileAtomic(this.file, JSON.stringify({ version: 1, jobs: [...records.values()] }, null, 2));
        },
        { onStale: (lockFile) => this.log.warn("removing a stale job records lock", { file: lockFile }) },
      ).catch((e: Error) => this.log.warn("cannot write the job records", { file: this.file, error: e.message }));
    this.writing = this.writing.then(run, run);
    return this.writing;
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
