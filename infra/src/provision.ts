import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3'
import { DEFAULT_LOG_SETTINGS, kvSpecs, type LogSettings, names, streamSpecs } from '@chatapp/contracts'
import {
  ensureKv,
  ensureStreams,
  jetstreamManager,
  type NatsConnection,
  type S3Config,
  s3ClientOf,
} from '@chatapp/kit'
import type { JetStreamManager } from '@nats-io/jetstream'
import pg from 'pg'

/** One home for the client's construction: kit's. */
export const s3Client = (s3: S3Config): S3Client => s3ClientOf(s3)

export const ensureBucket = async (client: S3Client, bucket: string): Promise<void> => {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }))
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: bucket }))
  }
}

export const ensureSchema = async (databaseUrl: string, schema: string): Promise<void> => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    // The schema name is a validated namespace ([a-z][a-z0-9]*), so quoting it is enough.
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
  } finally {
    await client.end()
  }
}

export interface ProvisionOptions {
  nc: NatsConnection
  databaseUrl: string
  s3: S3Config
  ns: string
  shards: number
  settings?: LogSettings
}

/**
 * A single nats-server refuses to create a stream with replicas, but accepts an update of an
 * existing one to R3 and reports `num_replicas: 3` while it keeps one copy (2.9.10). Replicas
 * are real only when the stream has a raft group with peers.
 */
const assertReplicated = async (jsm: JetStreamManager, ns: string, streams: string[]): Promise<void> => {
  for (const name of streams) {
    const si = await jsm.streams.info(name)
    if (!si.cluster?.replicas?.length)
      throw new Error(
        `stream ${name} of "${ns}" says num_replicas=${si.config.num_replicas} but has no replicas: NATS is a ` +
          'single server, which keeps one copy. Run a cluster, or provision again with NATS_REPLICAS=1.',
      )
  }
}

/**
 * Creates (or updates to the current spec) everything a namespace needs: shard streams, the user,
 * media-job and dead-letter streams, KV buckets, the media and archive S3 buckets and the database schemas. Idempotent,
 * so `make dev` runs it on every start.
 */
export const provision = async (o: ProvisionOptions): Promise<void> => {
  const n = names(o.ns, o.shards)
  const settings = o.settings ?? DEFAULT_LOG_SETTINGS
  const jsm = await jetstreamManager(o.nc)
  try {
    await ensureStreams(jsm, streamSpecs(n, settings))
    await ensureKv(o.nc, kvSpecs(n, settings))
  } catch (e) {
    // The usual cause: more replicas than the NATS cluster has nodes (or a single server).
    throw new Error(
      `provisioning the streams of "${o.ns}" with NATS_REPLICAS=${settings.replicas} failed: ${(e as Error).message}`,
      { cause: e },
    )
  }
  if (settings.replicas > 1)
    await assertReplicated(jsm, o.ns, [
      ...streamSpecs(n).map((x) => x.name),
      ...kvSpecs(n).map((k) => `KV_${k.bucket}`),
    ])
  const s3 = s3Client(o.s3)
  try {
    await ensureBucket(s3, n.s3Bucket)
    await ensureBucket(s3, n.archiveBucket)
  } finally {
    s3.destroy()
  }
  for (const schema of Object.values(n.dbSchemas)) await ensureSchema(o.databaseUrl, schema)
}
