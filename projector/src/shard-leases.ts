import { fnv1a32 } from '@chatapp/contracts'
import type { Logger } from '@chatapp/kit'
import pg from 'pg'

/**
 * Which shards this process projects. Each shard is leased with a PostgreSQL session advisory
 * lock on a connection of its own: while the connection lives, no other projector of the same
 * views schema can take the shard, and when the process dies the lease is released with it.
 * So several projector processes may run (for availability); each shard has one writer at a
 * time, which the ordering of its batches needs (ADR 0030). Shards not held are retried every
 * `retryMs`, so a survivor takes over the shards of a projector that stopped.
 */
export class ShardLeases {
  private client: pg.Client | undefined
  private readonly held = new Set<number>()
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private round: Promise<void> = Promise.resolve()

  constructor(
    private readonly o: {
      databaseUrl: string
      schema: string
      shards: number
      log: Logger
      retryMs?: number
      acquired(shard: number): Promise<void>
      lost(shard: number): Promise<void>
    },
  ) {}

  private key = () => fnv1a32(`${this.o.schema}:lease`) | 0

  async start(): Promise<void> {
    await this.next()
    this.timer = setInterval(() => {
      this.next().catch((err: unknown) => this.o.log.error({ err }, 'shard lease round failed'))
    }, this.o.retryMs ?? 2000)
    this.timer.unref()
  }

  /** Shards this process holds now. */
  shards(): number[] {
    return [...this.held].sort((a, b) => a - b)
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.o.databaseUrl })
    client.on('error', (err) => {
      this.o.log.error({ err }, 'lease connection lost: giving up every shard')
      this.dropAll(client).catch(() => {})
    })
    await client.connect()
    this.client = client
    return client
  }

  /** The connection died: its locks are gone, so stop writing every shard before anyone else starts. */
  private async dropAll(client: pg.Client): Promise<void> {
    if (this.client !== client) return
    this.client = undefined
    const shards = [...this.held]
    this.held.clear()
    for (const s of shards) await this.o.lost(s)
    await client.end().catch(() => {})
  }

  /** Rounds never overlap: each waits for the previous one. */
  private next(): Promise<void> {
    this.round = this.round.then(
      () => this.tick(),
      () => this.tick(),
    )
    return this.round
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.held.size === this.o.shards) return
    const client = this.client ?? (await this.connect())
    for (let shard = 0; shard < this.o.shards && !this.stopped; shard++) {
      if (this.held.has(shard)) continue
      const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        this.key(),
        shard,
      ])
      if (!r.rows[0]?.ok) continue
      this.held.add(shard)
      this.o.log.info({ shard }, 'shard leased')
      try {
        await this.o.acquired(shard)
      } catch (err) {
        // Could not start (e.g. its stream is missing): give the lease back and retry next round.
        this.o.log.error({ err, shard }, 'could not start a leased shard')
        this.held.delete(shard)
        await client.query('SELECT pg_advisory_unlock($1, $2)', [this.key(), shard])
      }
    }
  }

  /** Stops every held shard, then releases the leases (by closing their connection). */
  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    await this.round.catch(() => {})
    const shards = [...this.held]
    this.held.clear()
    for (const s of shards) await this.o.lost(s)
    await this.client?.end().catch(() => {})
    this.client = undefined
  }
}
