import type pg from 'pg'
import { runCombined, type ShardPart } from './combined-writes.js'
import { GroupCommit } from './group-commit.js'
import { deleteOutbox } from './outbox.js'

/**
 * What the shards one projector process holds share with each other in PostgreSQL (ADR 0226):
 * - the fast path's statement: a shard's batch goes with the other shards' batches due at the
 *   same time (the shard consumers make them due at the same instants: shard-consumer.ts,
 *   linger) in ONE statement (combined-writes.ts);
 * - the deletion of outbox rows their relays published (outbox-relay.ts), likewise one DELETE.
 * A statement's cost is mostly fixed, so eight shards due together cost about what one does.
 */
export class StatementCombiner {
  private readonly batches: GroupCommit<ShardPart, string | undefined>
  private readonly deletions: GroupCommit<readonly string[], undefined>

  constructor(
    pool: pg.Pool,
    schema: string,
    /** Called with the number of shards of each statement sent (whether it then succeeds or not). */
    observe: (shards: number) => void = () => {},
  ) {
    this.batches = new GroupCommit(async (parts) => {
      observe(parts.length)
      // A shard has one batch in flight at most (its writer awaits it), so one part per shard;
      // the guard takes their locks in shard order itself (combined-writes.ts).
      const moved = await runCombined(pool, schema, parts)
      return parts.map((p) => moved?.get(p.shard))
    })
    this.deletions = new GroupCommit(async (lists) => {
      await deleteOutbox(pool, schema, lists.flat())
      return lists.map(() => undefined)
    })
  }

  /**
   * Applies a shard's fast-path batch with whatever else is due. Resolves with the shard's new
   * offset version, or undefined when its guard (or every guard of the statement) did not hold;
   * rejects when the statement failed, whichever part caused it: each writer then applies its
   * part alone.
   */
  submit(part: ShardPart): Promise<string | undefined> {
    return this.batches.submit(part)
  }

  /** Deletes outbox rows (by id) with the other shards' rows due for deletion. */
  deleteOutbox(ids: readonly string[]): Promise<undefined> {
    return ids.length === 0 ? Promise.resolve(undefined) : this.deletions.submit(ids)
  }
}
