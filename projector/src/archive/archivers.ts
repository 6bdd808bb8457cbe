import type { Names } from '@chatapp/contracts'
import type { ArchiveStore, Logger, NatsConnection } from '@chatapp/kit'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import type pg from 'pg'
import type { Registry } from 'prom-client'
import { ShardLeases } from '../shard-leases.js'
import { openArchiveDb } from './archive-heads.js'
import { createArchiveMetrics } from './archive-metrics.js'
import { type SegmentLimits, ShardArchiver, type ShardArchiverOptions } from './shard-archiver.js'
import type { HotWindow } from './trimmer.js'

export interface ArchiversOptions {
  nc: NatsConnection
  /** The projector's pool: the archiver reads the views' offsets from it. */
  pool: pg.Pool
  databaseUrl: string
  names: Names
  store: ArchiveStore
  limits: SegmentLimits
  hot: HotWindow
  pollMs: number
  log: Logger
  registry?: Registry
  leaseRetryMs?: number
  /** Test hook (ShardArchiverOptions.onStep). */
  onStep?: ShardArchiverOptions['onStep']
}

export interface RunningArchivers {
  shards(): number[]
  checkpoint(shard: number): number | undefined
  stop(): Promise<void>
}

export const DEFAULT_SEGMENT_LIMITS: SegmentLimits = {
  maxEvents: 50_000,
  maxBytes: 16 * 1024 * 1024,
  maxAgeMs: 60_000,
}

/**
 * An archiver per shard stream, in any number of processes: each shard is leased (as the
 * projector's are, under a lock key of the archive's own schema), so one writes it at a time and
 * a survivor takes over the shards of one that stopped.
 */
export const startArchivers = async (o: ArchiversOptions): Promise<RunningArchivers> => {
  const db = openArchiveDb(o.databaseUrl, o.names.dbSchemas.archive, o.log)
  await db.migrate()
  const js = jetstream(o.nc)
  const jsm = await jetstreamManager(o.nc)
  const metrics = o.registry ? createArchiveMetrics(o.registry) : undefined
  const running = new Map<number, ShardArchiver>()
  const leases = new ShardLeases({
    databaseUrl: o.databaseUrl,
    schema: o.names.dbSchemas.archive,
    shards: o.names.shards,
    log: o.log,
    ...(o.leaseRetryMs !== undefined ? { retryMs: o.leaseRetryMs } : {}),
    acquired: async (shard) => {
      const a = new ShardArchiver({
        js,
        jsm,
        pool: o.pool,
        db,
        store: o.store,
        viewsSchema: o.names.dbSchemas.views,
        stream: o.names.convStream(shard),
        subjects: o.names.convStreamSubjects(shard),
        shard,
        limits: o.limits,
        hot: o.hot,
        pollMs: o.pollMs,
        log: o.log,
        ...(metrics ? { metrics } : {}),
        ...(o.onStep ? { onStep: o.onStep } : {}),
      })
      await a.start()
      running.set(shard, a)
    },
    lost: async (shard) => {
      const a = running.get(shard)
      running.delete(shard)
      await a?.stop()
    },
  })
  await leases.start()
  o.log.info({ shards: leases.shards(), hot: o.hot, limits: o.limits }, 'archiving')
  let stopping: Promise<void> | undefined
  return {
    shards: () => leases.shards(),
    checkpoint: (shard) => running.get(shard)?.checkpoint().archivedTo,
    stop() {
      stopping ??= leases.stop().then(() => db.close())
      return stopping
    },
  }
}
