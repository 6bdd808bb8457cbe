import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { type LogSettings, type Names, names } from '@chatapp/contracts'
import {
  connectNats,
  createLogger,
  deleteNamespaceStreams,
  jetstreamManager,
  type NatsConnection,
} from '@chatapp/kit'
import pg from 'pg'
import { type NatsNode, startNatsNodes } from './cluster/nats-cluster.js'
import { ProcessSet } from './cluster/process-set.js'
import { provision, s3Client } from './provision.js'
import { ensureStack, type Stack } from './stack.js'
import { findExecutable } from './system-packages.js'

/**
 * One isolated namespace per test file: its own streams, KV buckets, database schema and S3
 * bucket, removed at teardown. A crashed run leaves a namespace behind that no later run sees;
 * `infra clean-tests` removes them.
 */
export interface TestNamespace {
  ns: string
  names: Names
  nc: NatsConnection
  stack: Stack
  /** The environment a service process of this namespace needs. */
  env: Record<string, string>
  cleanup(): Promise<void>
}

export const TEST_NS_PATTERN = /^t[0-9a-z]{8}[0-9a-f]{6}$/

export const newTestNamespaceName = (): string =>
  `t${Date.now().toString(36).padStart(8, '0')}${randomBytes(3).toString('hex')}`

let stackOnce: Promise<Stack> | undefined
export const testStack = (): Promise<Stack> => {
  // `make test` has already installed ffmpeg and exported FFMPEG_PATH; a test file run on its own
  // finds ffmpeg on PATH or goes without it.
  stackOnce ??= ensureStack({ ffmpeg: false }).then((s) => ({
    ...s,
    ffmpeg: process.env.FFMPEG_PATH ?? findExecutable('ffmpeg'),
  }))
  return stackOnce
}

export const createTestNamespace = async (
  opts: {
    shards?: number
    settings?: Partial<LogSettings>
    /** Another NATS than the stack's (a test cluster: startTestNatsCluster). */
    natsUrl?: string
  } = {},
): Promise<TestNamespace> => {
  const shared = await testStack()
  const stack = opts.natsUrl ? { ...shared, natsUrl: opts.natsUrl } : shared
  const ns = newTestNamespaceName()
  const shards = opts.shards ?? 2
  const nc = await connectNats(stack.natsUrl, `test-${ns}`, createLogger('test', 'silent'))
  await provision({
    nc,
    databaseUrl: stack.databaseUrl,
    s3: stack.s3,
    ns,
    shards,
    // NATS_REPLICAS and NATS_DUPLICATE_WINDOW_MS apply to test namespaces too (a run against a
    // cluster provisions R3); a test may still pin what it exercises.
    settings: { ...stack.config.settings, ...opts.settings },
  })
  const n = names(ns, shards)
  const env = {
    CHATAPP_NS: ns,
    CHATAPP_SHARDS: String(shards),
    NATS_URL: stack.natsUrl,
    DATABASE_URL: stack.databaseUrl,
    S3_ENDPOINT: stack.s3.endpoint,
    S3_REGION: stack.s3.region,
    S3_ACCESS_KEY_ID: stack.s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: stack.s3.secretAccessKey,
    S3_FORCE_PATH_STYLE: String(stack.s3.forcePathStyle),
  }
  return {
    ns,
    names: n,
    nc,
    stack,
    env,
    cleanup: async () => {
      await removeNamespace(stack, ns, nc)
      await nc.close()
    },
  }
}

/** Deletes a namespace's streams, KV buckets, schema and bucket. Used for test namespaces only. */
export const removeNamespace = async (stack: Stack, ns: string, nc: NatsConnection): Promise<void> => {
  await deleteNamespaceStreams(await jetstreamManager(nc), ns)
  await dropNamespaceData(stack, ns)
}

/** Drops a namespace's database schemas and S3 buckets (what lives outside NATS). */
export const dropNamespaceData = async (stack: Stack, ns: string): Promise<void> => {
  const db = new pg.Client({ connectionString: stack.databaseUrl })
  await db.connect()
  try {
    for (const schema of Object.values(names(ns, 1).dbSchemas))
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await db.end()
  }
  const s3 = s3Client(stack.s3)
  try {
    for (const Bucket of [names(ns, 1).s3Bucket, names(ns, 1).archiveBucket]) {
      try {
        for (;;) {
          const list = await s3.send(new ListObjectsV2Command({ Bucket }))
          const keys = (list.Contents ?? []).map((o) => ({ Key: o.Key! }))
          if (keys.length === 0) break
          await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys } }))
        }
        await s3.send(new DeleteBucketCommand({ Bucket }))
      } catch {
        // a bucket that is already gone is the state we want
      }
    }
  } finally {
    s3.destroy()
  }
}

/** Removes test namespaces older than `maxAgeMs` that crashed runs left behind. */
export const cleanStaleTestNamespaces = async (
  stack: Stack,
  nc: NatsConnection,
  maxAgeMs: number,
): Promise<string[]> => {
  const jsm = await jetstreamManager(nc)
  const stale = new Set<string>()
  for await (const si of jsm.streams.list()) {
    const ns = si.config.name.replace(/^KV_/, '').split('-')[0]!
    if (TEST_NS_PATTERN.test(ns) && Date.now() - Date.parse(si.created) > maxAgeMs) stale.add(ns)
  }
  for (const ns of stale) await removeNamespace(stack, ns, nc)
  return [...stale]
}

/**
 * Starts or restarts a NATS node of a test cluster on its stores and, when it stays unready past its
 * minute, restarts it once more, saying so through `say`. nats-server has kept such a node unready
 * ("group node unhealthy" on 2.9.10, where 2.9.17 made health checks repair it; "JetStream is not
 * current with the meta leader" on 2.10.27 while another killed node was still down, CI
 * 2026-12-07); an operator restarts it again, and so do the tests.
 */
export const bringBack = async (
  set: ProcessSet,
  name: string,
  how: 'start' | 'restart',
  say: (m: string) => void,
): Promise<void> => {
  await set[how](name).catch(async (err: Error) => {
    say(`${name} was not ready after its ${how}; restarted once more. ${err.message.slice(0, 3000)}`)
    await set.restart(name)
  })
}

/** Three NATS nodes on the production config, for a test file; `stop` removes them and their data. */
export interface TestNatsCluster {
  url: string
  nodes: NatsNode[]
  set: ProcessSet
  /**
   * Starts the named nodes again, together, as an operator brings back what died, and resolves once
   * each is ready (bringBack: one more restart for a node that stays unready, said on stderr).
   */
  revive(names: string[]): Promise<void>
  stop(): Promise<void>
}

export const startTestNatsCluster = async (): Promise<TestNatsCluster> => {
  const dir = mkdtempSync(join(tmpdir(), 'chatapp-nats-'))
  const set = new ProcessSet()
  // What a restart during the start logs goes to the test's output (stderr, not TAP).
  const { url, nodes } = await startNatsNodes(set, dir, join(dir, 'log'), (m) => console.error(m))
  return {
    url,
    nodes,
    set,
    revive: async (names) => {
      await Promise.all(names.map((name) => bringBack(set, name, 'start', (m) => console.error(m))))
    },
    stop: async () => {
      await set.stopAll(['nats'])
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
