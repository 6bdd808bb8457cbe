import type { ConvState } from './core/project.js'

/**
 * What one writer knows of a shard between its batches: the conversation states, and where the
 * shard stood after its last commit (the offset and its row's version, `xmin`: the transaction
 * that last wrote the offset row). A batch then needs neither to read the states back nor, on the
 * fast path (applier.ts), to open a transaction: it writes everything in one statement that moves
 * the offset only if the row is still at that offset and version.
 *
 * Safe with several writers: every write to a shard's views moves its offset row in the same
 * transaction, so when the version read under the shard lock (or checked by the fast path) is not
 * the one recorded here, someone else wrote the shard (another projector, a rebuild's switch-over)
 * and everything here is dropped before use. Only states of committed transactions enter it.
 */
export class StateCache {
  private states = new Map<string, ConvState>()
  private version: string | undefined
  private offset: number | undefined

  constructor(private readonly max = 50_000) {}

  /** In a transaction, right after the offset row was read under the lock. */
  validate(version: string | undefined, offset: number): void {
    if (version !== this.version) this.states.clear()
    this.version = version
    this.offset = offset
  }

  get(id: string): ConvState | undefined {
    return this.states.get(id)
  }

  /** After COMMIT: the states the batch ended with, valid for the row version and offset it wrote. */
  committed(touched: ReadonlyMap<string, ConvState>, version: string | undefined, offset: number): void {
    if (this.states.size + touched.size > this.max) this.states.clear()
    for (const [id, s] of touched) this.states.set(id, s)
    this.version = version
    this.offset = offset
  }

  /** Where this writer left the shard, when it knows (the fast path's compare-and-set). */
  position(): { offset: number; version: string } | undefined {
    return this.version !== undefined && this.offset !== undefined
      ? { offset: this.offset, version: this.version }
      : undefined
  }

  get size(): number {
    return this.states.size
  }
}
