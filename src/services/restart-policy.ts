import type { SupervisorTiming } from "./service-types.js";

/** What to do after a failure: give up, or try again after a delay. */
export type Verdict = { giveUp: true; failures: number } | { giveUp: false; delayMs: number };

/** Exponential backoff with a crash window: more than `maxCrashes` failures within it means give up. */
export class RestartPolicy {
  private crashes: number[] = [];
  private backoffMs: number;

  constructor(private readonly t: SupervisorTiming) {
    this.backoffMs = t.backoffStartMs;
  }

  /** Records a failure at `now`; a run that lasted the stable period first clears the history. */
  failed(now: number, runningSince: number | undefined): Verdict {
    if (runningSince !== undefined && now - runningSince >= this.t.stableMs) this.reset();
    this.crashes = this.crashes.filter((c) => now - c < this.t.crashWindowMs);
    this.crashes.push(now);
    if (this.crashes.length > this.t.maxCrashes) return { giveUp: true, failures: this.crashes.length };
    const delayMs = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.t.backoffMaxMs);
    return { giveUp: false, delayMs };
  }

  reset(): void {
    this.crashes = [];
    this.backoffMs = this.t.backoffStartMs;
  }
}
