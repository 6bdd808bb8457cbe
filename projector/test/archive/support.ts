import type { Names } from '@chatapp/contracts'
import { createArchiveReader, createLogger, s3ArchiveStore, s3ClientOf } from '@chatapp/kit'
import type pg from 'pg'
import t from 'tap'
import { startArchivers } from '../../src/archive/archivers.js'
import type { SegmentLimits } from '../../src/archive/shard-archiver.js'
import type { HotWindow } from '../../src/archive/trimmer.js'
import type { ArchiveSource } from '../../src/archived-log-reader.js'

/** The archive of a test namespace: its store, a reader, and archivers started in this process. */
export const testArchive = (
  tn: {
    nc: import('@chatapp/kit').NatsConnection
    stack: { databaseUrl: string; s3: import('@chatapp/kit').S3Config }
  },
  n: Names,
  pool: pg.Pool,
) => {
  const s3 = s3ClientOf(tn.stack.s3)
  t.teardown(() => s3.destroy())
  const store = s3ArchiveStore(s3, n.archiveBucket)
  const reader = createArchiveReader(store)
  const source: ArchiveSource = {
    reader,
    shardOf: (stream) => Number(stream.slice(stream.lastIndexOf('-') + 1)),
  }
  const start = async (hot: HotWindow, limits: Partial<SegmentLimits> = {}) => {
    const a = await startArchivers({
      nc: tn.nc,
      pool,
      databaseUrl: tn.stack.databaseUrl,
      names: n,
      store,
      limits: { maxEvents: 7, maxBytes: 1 << 20, maxAgeMs: 0, ...limits },
      hot,
      pollMs: 20,
      leaseRetryMs: 100,
      log: createLogger('test', 'silent'),
    })
    t.teardown(() => a.stop())
    return a
  }
  return { s3, store, reader, source, start }
}
