import { promises as fsp } from "node:fs";
import type { Logger } from "../log.js";
import { writePrivateFileAtomic } from "../util/private-file.js";

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

// Why: jobs outlive mcp-herd, so their records live in `<stateDir>/jobs.json` (atomic write, mode 0600).
export class JobStore {
  private records?: Map<string, JobRecord>;
  private loading?: Promise<Map<string, JobRecord>>;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly log: Logger,
  ) {}

  /** Records one job (or replaces the record with the same id). */
  async add(rec: JobRecord): Promise<void> {
    const all = await this.load();
    all.delete(rec.id);
    all.set(rec.id, rec);
    while (all.size > MAX_RECORDS) all.delete(all.keys().next().value!);
    await this.save();
  }

  /** Merges fields into a known record; unknown ids are ignored. */
  async update(id: string, patch: Partial<JobRecord>): Promise<void> {
    const all = await this.load();
    const rec = all.get(id);
    if (!rec) return;
    all.set(id, { ...rec, ...patch });
    await this.save();
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return (await this.load()).get(id);
  }

  /** Every record, newest first. */
  async list(): Promise<JobRecord[]> {
    return [...(await this.load()).values()].reverse();
  }

  /** Reads jobs.json once; every caller shares the same read, so records keep the order they were added in. */
  private load(): Promise<Map<string, JobRecord>> {
    this.loading ??= this.read();
    return this.loading;
  }

  private async read(): Promise<Map<string, JobRecord>> {
    let parsed: { jobs?: JobRecord[] } = {};
    try {
      parsed = JSON.parse(await fsp.readFile(this.file, "utf8")) as { jobs?: JobRecord[] };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") this.log.warn("cannot read the job records; starting with none", { file: this.file, error: (e as Error).message });
    }
    this.records = new Map((Array.isArray(parsed.jobs) ? parsed.jobs : []).filter((j) => j && typeof j.id === "string").map((j) => [j.id, j]));
    return this.records;
  }

  private save(): Promise<void> {
    const run = async () => {
      const body = JSON.stringify({ version: 1, jobs: [...(this.records ?? new Map()).values()] }, null, 2);
      try {
        await writePrivateFileAtomic(this.file, body);
      } catch (e) {
        this.log.warn("cannot write the job records", { file: this.file, error: (e as Error).message });
      }
    };
    this.writing = this.writing.then(run, run);
    return this.writing;
  }
}
