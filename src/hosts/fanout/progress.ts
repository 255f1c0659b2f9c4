import type { Progress } from "../../backends/backend.js";

// Why: one progress numbering for a fan-out call. MCP wants `progress` to increase with every notification;
// here it is hosts done (an integer, total = N), and a host's output lines in between take done + k/(k+1),
// which rises towards the next integer without reaching it.
export class FanoutProgress {
  private done = 0;
  private linesSinceDone = 0;
  private last = -1;

  constructor(
    private readonly total: number,
    private readonly report: (p: Progress) => void,
  ) {}

  /** A line of a running host's output (its own progress message). */
  line(host: string, message: string | undefined): void {
    if (this.done >= this.total) return;
    this.linesSinceDone++;
    this.send(this.done + this.linesSinceDone / (this.linesSinceDone + 1), `[${host}] ${message ?? ""}`);
  }

  /** A host finished (whatever its outcome). */
  hostDone(host: string, status: "ok" | "failed" | "down"): void {
    if (this.done >= this.total) return;
    this.done++;
    this.linesSinceDone = 0;
    this.send(this.done, `${host} done (${this.done}/${this.total})${status === "ok" ? "" : `: ${status}`}`);
  }

  private send(progress: number, message: string): void {
    if (!(progress > this.last)) return;
    this.last = progress;
    this.report({ progress, total: this.total, message });
  }
}
