import { openStore as openFileStore } from "./file-store.js";
import { PgStore, redactUrl } from "./postgres/pg-store.js";
import type { Store } from "./store.js";
import { InvalidInputError } from "../util/errors.js";

/**
 * Which backend holds the state: the embedded file store in the data directory (the default),
 * or a PostgreSQL database (`--store postgres://…`, `TRACE2SKILL_STORE`, or `store` in
 * config.json) shared by several servers and workers. The data directory still holds what is
 * local to a machine (config.json, exports by default).
 */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(location);
}

export async function openStoreAt(dataDir: string, location?: string | null): Promise<Store> {
  if (!location || location === "file") return openFileStore(dataDir);
  if (isPostgresUrl(location.trim())) return PgStore.open(location.trim(), dataDir);
  throw new InvalidInputError(
    `Unknown store "${redactUrl(location.trim()).slice(0, 80)}": use a postgres:// (or postgresql://) URL for a PostgreSQL database, or leave it unset for the file store in the data directory.`,
  );
}
