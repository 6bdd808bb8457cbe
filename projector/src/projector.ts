import type { Names } from '@chatapp/contracts'
import type { Logger, NatsConnection } from '@chatapp/kit'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import type pg from 'pg'
import type { Registry } from 'prom-client'
import { createMetrics, type ProjectorMetrics } from './metrics.js'
import { openOrm } from './orm.js'
import { type EffectSink, jetStreamSink } from './outbox-relay.js'
import { ShardConsumer } from './shard-consumer.js'
import { ShardLeases } from './shard-leases.js'
import { StatementCombiner } from './statement-combiner.js'

export interface ProjectorOptions {
  nc: NatsConnection
  pool: pg.Pool
  databaseUrl: string
  names: Names
  batch: number
  log: Logger
  registry: Registry
  ackWaitMs?: number
  /** See ShardConsumerOptions.lingerMs. */
  lingerMs?: number
  /** How often shards leased by another projector are tried again (default 2 s). */
  leaseRetryMs?: number
  /** Where effects are published; JetStream by default (a test wraps it to crash at a step). */
  sink?: EffectSink
  /** How often each shard's effect outbox is drained (default 5 s). */
  outboxDrainMs?: number
  /** See ShardConsumerOptions.pushJobs. */
  pushJobs?: boolean
  /** How often each shard computes its lag and checks for stalls and placement (default 2.5 s). */
  watchMs?: number
}

export interface RunningProjector {
  metrics: ProjectorMetrics
  /** The shards this process projects now (the others are leased by another projector). */
  shards(): number[]
  stop(): Promise<void>
}

/** Migrates the views schema (under its advisory lock), then runs one consumer per shard stream. */
export const startProjector = async (o: ProjectorOptions): Promise<RunningProjector> => {
  const schema = o.names.dbSchemas.views
  const orm = await openOrm(o.databaseUrl, schema, 1)
  await orm.close()
  const metrics = createMetrics(o.registry)
  const js = jetstream(o.nc)
  const jsm = await jetstreamManager(o.nc)
  const sink = o.sink ?? jetStreamSink(o.nc)
  const consumers = new Map<number, ShardConsumer>()
  const combiner = new StatementCombiner(o.pool, schema, (n) => metrics.statementShards.observe(n))
  const leases = new ShardLeases({
    databaseUrl: o.databaseUrl,
    schema,
    shards: o.names.shards,
    log: o.log,
    ...(o.leaseRetryMs !== undefined ? { retryMs: o.leaseRetryMs } : {}),
    acquired: async (shard) => {
      const c = new ShardConsumer({
        js,
        jsm,
        pool: o.pool,
        names: o.names,
        schema,
        shard,
        batch: o.batch,
        log: o.log,
        metrics,
        sink,
        combiner,
        ...(o.outboxDrainMs !== undefined ? { outboxDrainMs: o.outboxDrainMs } : {}),
        ...(o.pushJobs !== undefined ? { pushJobs: o.pushJobs } : {}),
        ...(o.ackWaitMs !== undefined ? { ackWaitMs: o.ackWaitMs } : {}),
        ...(o.lingerMs !== undefined ? { lingerMs: o.lingerMs } : {}),
        ...(o.watchMs !== undefined ? { watchMs: o.watchMs } : {}),
      })
      consumers.set(shard, c)
      await c.start()
    },
    lost: async (shard) => {
      const c = consumers.get(shard)
      consumers.delete(shard)
      await c?.stop()
    },
  })
  await leases.start()
  o.log.info({ schema, shards: leases.shards(), of: o.names.shards, batch: o.batch }, 'projecting')
  return {
    metrics,
    shards: () => leases.shards(),
    stop: () => leases.stop(),
  }
}
