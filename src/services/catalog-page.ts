/**
 * JSON-RPC code for an unknown resource: -32602 (MCP 2026-07-28 requires it; the v2 SDK puts every
 * -32002 on the wire as -32602, in both eras, and clients accept both).
 */
export const RESOURCE_NOT_FOUND = -32602;
/** JSON-RPC code for bad request parameters (an unknown prompt, a bad cursor). */
export const INVALID_PARAMS = -32602;
/** JSON-RPC code for a failure on our side (the owning service died mid-request). */
export const INTERNAL_ERROR = -32603;

const PAGE_SIZE = 100;

/** A protocol error of the catalog: the JSON-RPC code and a message saying what to do; server.ts puts it on the wire. */
export class CatalogError extends Error {
  override readonly name = "CatalogError";
  constructor(
    readonly code: number,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** One page of a list we serve and the cursor of the next one (an opaque offset); a foreign cursor is refused. */
export function paginate<T>(items: readonly T[], cursor: string | undefined, size = PAGE_SIZE): { page: T[]; nextCursor?: string } {
  let start = 0;
  if (cursor !== undefined) {
    const m = /^o(\d{1,9})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
    if (!m) throw new CatalogError(INVALID_PARAMS, `invalid cursor '${cursor.slice(0, 64)}': pass the nextCursor of the previous page, or none for the first`);
    start = Number(m[1]);
  }
  const end = start + size;
  const page = items.slice(start, end);
  return end < items.length ? { page, nextCursor: Buffer.from(`o${end}`, "utf8").toString("base64url") } : { page };
}
