import type { Store } from "../store/store.js";
import { findSharedContext, type SharedContext } from "../trajectory/render.js";
import { hashJson } from "../util/hash.js";
import { trajectoriesFor } from "./inputs.js";

/**
 * The context a set of runs shares (e.g. the agent's system prompt), found once per set: every
 * item and brief of a run needs it, and finding it reads all the runs. Keyed by the runs (and,
 * for a whole skill, their sizes, so a grown session is seen); a few sets are kept.
 */
export class SharedContexts {
  private readonly cache = new Map<string, SharedContext>();

  constructor(private readonly store: Store) {}

  async of(skill: string, trajectoryIds?: string[]): Promise<SharedContext> {
    const ids = trajectoryIds ?? (await this.store.listTrajectories({ skill })).map((row) => `${row.id}:${row.steps}`).sort();
    const key = hashJson({ skill, ids });
    const cached = this.cache.get(key);
    if (cached) return cached;
    const shared = findSharedContext(await trajectoriesFor(this.store, skill, trajectoryIds));
    if (this.cache.size >= 16) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, shared);
    return shared;
  }
}
