import type pg from 'pg'
import { runCombined, type ShardPart } from './combined-writes.js'

interface Waiting {
  part: ShardPart
  resolve: (version: string | undefined) => void
  reject: (err: unknown) => void
}

/**
 * Group commit of the fast path across the shards one process holds (ADR 0226). A shard's batch
 * waits for the parts submitted in the same turn of the event loop, or for the statement in
 * flight, and goes with them in ONE statement (combined-writes.ts). One statement at a time per
 * combiner: what arrives meanwhile is the next statement's. A statement's cost is mostly fixed
 * (round trip, plan, commit, a backend woken), so eight shards due together cost about what one
 * does.
 *
 * The shard consumers make their batches due at the same instants (shard-consumer.ts, linger),
 * so at moderate rates the shards of a process meet here.
 */
export class StatementCombiner {
  private waiting: Waiting[] = []
  private busy = false
  private scheduled = false

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    /** Called with the number of shards of each statement sent (whether it then succeeds or not). */
    private readonly observe: (shards: number) => void = () => {},
  ) {}

  /**
   * Applies the part with whatever else is due. Resolves with the shard's new offset version, or
   * undefined when its guard (or every guard of the statement) did not hold; rejects when the
   * statement failed, whichever part caused it: each writer then applies its part alone.
   */
  submit(part: ShardPart): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ part, resolve, reject })
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.busy || this.scheduled || this.waiting.length === 0) return
    this.scheduled = true
    // After the current turn: the shards whose batches fell due at the same timer all submit first.
    setImmediate(() => {
      this.scheduled = false
      void this.flush()
    })
  }

  private async flush(): Promise<void> {
    if (this.busy || this.waiting.length === 0) return
    this.busy = true
    // One part per shard per statement; a shard's second part (it cannot have one: a writer
    // awaits its batch) would wait for the next.
    const take: Waiting[] = []
    const later: Waiting[] = []
    const seen = new Set<number>()
    for (const w of this.waiting) {
      if (seen.has(w.part.shard)) later.push(w)
      else {
        seen.add(w.part.shard)
        take.push(w)
      }
    }
    this.waiting = later
    take.sort((a, b) => a.part.shard - b.part.shard)
    this.observe(take.length)
    try {
      const moved = await runCombined(
        this.pool,
        this.schema,
        take.map((w) => w.part),
      )
      for (const w of take) w.resolve(moved?.get(w.part.shard))
    } catch (err) {
      for (const w of take) w.reject(err)
    } finally {
      this.busy = false
      this.schedule()
    }
  }
}
