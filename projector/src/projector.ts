import type { Names } from '@chatapp/contracts'
import type { Logger, NatsConnection } from '@chatapp/kit'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import type pg from 'pg'
import type { Registry } from 'prom-client'
import { createMetrics, type ProjectorMetrics } from './metrics.js'
import { openOrm } from './orm.js'
import { ShardConsumer } from './shard-consumer.js'

export interface ProjectorOptions {
  nc: NatsConnection
  pool: pg.Pool
  databaseUrl: string
  names: Names
  batch: number
  log: Logger
  registry: Registry
  ackWaitMs?: number
}

export interface RunningProjector {
  metrics: ProjectorMetrics
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
  const shards = Array.from(
    { length: o.names.shards },
    (_, shard) =>
      new ShardConsumer({
        js,
        jsm,
        pool: o.pool,
        names: o.names,
        schema,
        shard,
        batch: o.batch,
        log: o.log,
        metrics,
        ...(o.ackWaitMs !== undefined ? { ackWaitMs: o.ackWaitMs } : {}),
      }),
  )
  for (const s of shards) await s.start()
  o.log.info({ schema, shards: shards.length, batch: o.batch }, 'projecting')
  return {
    metrics,
    stop: async () => {
      await Promise.all(shards.map((s) => s.stop()))
    },
  }
}
