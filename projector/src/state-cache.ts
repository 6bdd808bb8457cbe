import type { ConvState } from './core/project.js'

/**
 * The conversation states of one shard, kept across batches so a batch need not read them back
 * from the views (one round trip and a join per batch). Safe with several writers: the states are
 * valid for one version of the shard's offset row (its `xmin`, the transaction that last wrote
 * it). Every write to a shard's views moves that row in the same transaction, so when the version
 * read under the shard lock is not the one this cache last committed, someone else wrote the
 * shard (another projector, a rebuild's switch-over) and the cache is dropped before it is used.
 * Only states of committed transactions enter it.
 */
export class StateCache {
  private states = new Map<string, ConvState>()
  private version: string | undefined

  constructor(private readonly max = 50_000) {}

  /** In the transaction, right after the offset row was read: forget everything if it moved. */
  validate(version: string | undefined): void {
    if (version === this.version) return
    this.states.clear()
    this.version = version
  }

  get(id: string): ConvState | undefined {
    return this.states.get(id)
  }

  /** After COMMIT: the states the transaction ended with, valid for the row version it wrote. */
  committed(touched: ReadonlyMap<string, ConvState>, version: string | undefined): void {
    if (this.states.size + touched.size > this.max) this.states.clear()
    for (const [id, s] of touched) this.states.set(id, s)
    this.version = version
  }

  get size(): number {
    return this.states.size
  }
}
