import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { DEFAULT_LOG_SETTINGS, kvSpecs, type LogSettings, names, streamSpecs } from '@chatapp/contracts'
import { ensureKv, ensureStreams, jetstreamManager, type NatsConnection, type S3Config } from '@chatapp/kit'
import pg from 'pg'

export const s3Client = (s3: S3Config): S3Client =>
  new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  })

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
 * Creates (or updates to the current spec) everything a namespace needs: shard streams, the user,
 * media-job and dead-letter streams, KV buckets, the S3 bucket and the database schema. Idempotent,
 * so `make dev` runs it on every start.
 */
export const provision = async (o: ProvisionOptions): Promise<void> => {
  const n = names(o.ns, o.shards)
  const settings = o.settings ?? DEFAULT_LOG_SETTINGS
  const jsm = await jetstreamManager(o.nc)
  await ensureStreams(jsm, streamSpecs(n, settings))
  await ensureKv(o.nc, kvSpecs(n, settings))
  const s3 = s3Client(o.s3)
  try {
    await ensureBucket(s3, n.s3Bucket)
  } finally {
    s3.destroy()
  }
  for (const schema of Object.values(n.dbSchemas)) await ensureSchema(o.databaseUrl, schema)
}
