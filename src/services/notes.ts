/** Per-service remarks service_list shows beside the status (renamed from a client config, a URI clash, left out at start-up). */
export class ServiceNotes {
  private readonly notes = new Map<string, Map<string, string>>();

  /** Sets the note of one kind for a service (a newer one of the same kind replaces it). */
  set(service: string, kind: string, text: string): void {
    let m = this.notes.get(service);
    if (!m) this.notes.set(service, (m = new Map()));
    m.set(kind, text);
  }

  clear(service: string, kind: string): void {
    this.notes.get(service)?.delete(kind);
  }

  /** The notes of a service, in the order they were first set. */
  of(service: string): string[] {
    return [...(this.notes.get(service)?.values() ?? [])];
  }
}
