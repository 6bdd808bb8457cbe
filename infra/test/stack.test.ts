import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HeadBucketCommand } from '@aws-sdk/client-s3'
import { jetstreamManager } from '@chatapp/kit'
import pg from 'pg'
import t from 'tap'
import { freePort, hostPort, tcpAnswers, waitFor } from '../src/probe.js'
import { s3Client } from '../src/provision.js'
import { createTestNamespace, newTestNamespaceName, TEST_NS_PATTERN, testStack } from '../src/test-support.js'

t.test('the stack answers on every service it reports', async (t) => {
  const stack = await testStack()
  for (const [url, port] of [
    [stack.natsUrl, 4222],
    [stack.databaseUrl, 5432],
    [stack.s3.endpoint, 80],
  ] as const) {
    const { host, port: p } = hostPort(url, port)
    t.ok(await tcpAnswers(host, p), url)
  }
})

t.test(
  'a test namespace has its streams, KV buckets, schema and bucket, and cleanup removes them',
  async (t) => {
    const tn = await createTestNamespace({ shards: 3 })
    const jsm = await jetstreamManager(tn.nc)
    t.equal((await jsm.streams.info(tn.names.convStream(2))).config.subjects[0], `${tn.ns}.conv.2.>`)
    const db = new pg.Client({ connectionString: tn.stack.databaseUrl })
    await db.connect()
    t.teardown(() => db.end())
    const schemaExists = async () =>
      (
        await db.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = ANY($1)', [
          Object.values(tn.names.dbSchemas),
        ])
      ).rowCount === Object.values(tn.names.dbSchemas).length
    t.ok(await schemaExists())
    const s3 = s3Client(tn.stack.s3)
    t.teardown(() => s3.destroy())
    await s3.send(new HeadBucketCommand({ Bucket: tn.names.s3Bucket }))
    await s3.send(new HeadBucketCommand({ Bucket: tn.names.archiveBucket }))
    await tn.cleanup()
    t.notOk(await schemaExists())
    t.rejects(s3.send(new HeadBucketCommand({ Bucket: tn.names.s3Bucket })))
    t.rejects(
      s3.send(new HeadBucketCommand({ Bucket: tn.names.archiveBucket })),
      'the archive bucket goes too',
    )
  },
)

t.test('test namespace names are unique and valid', async (t) => {
  const a = newTestNamespaceName()
  const b = newTestNamespaceName()
  t.not(a, b)
  t.match(a, TEST_NS_PATTERN)
})

t.test('probes report closed ports and waitFor gives up with the name of what it awaited', async (t) => {
  t.notOk(await tcpAnswers('127.0.0.1', 1))
  t.same(hostPort('nats://a:1,nats://b:2', 9), { host: 'a', port: 1 })
  t.same(hostPort('http://[::1]/x', 80), { host: '::1', port: 80 })
  await t.rejects(
    waitFor('the impossible', async () => false, 200),
    /the impossible/,
  )
})

t.test('a data directory with nothing started has no daemons to stop', async (t) => {
  const { stopSession, stopAll } = await import('../src/stack.js')
  const dir = mkdtempSync(join(tmpdir(), 'chatapp-'))
  t.same(await stopSession('nobody', dir), [])
  t.same(await stopAll(dir), [])
})

t.test(
  'the stack writes what it resolved to stack.env, where a later command finds the running stack',
  async (t) => {
    const { ensureStack, stopSession } = await import('../src/stack.js')
    const { readEnvFile } = await import('@chatapp/kit')
    const real = await testStack()
    const dir = mkdtempSync(join(tmpdir(), 'chatapp-env-'))
    t.teardown(async () => {
      await stopSession('one', dir)
      rmSync(dir, { recursive: true, force: true })
    })
    const others = { DATABASE_URL: real.databaseUrl, S3_ENDPOINT: real.s3.endpoint }
    const natsUrl = `nats://127.0.0.1:${await freePort()}`
    const quiet = () => {}
    const first = await ensureStack({
      dataDir: dir,
      env: { ...others, NATS_URL: natsUrl },
      ffmpeg: false,
      session: 'one',
      log: quiet,
    })
    t.same([first.natsUrl, first.started], [natsUrl, ['nats']], 'started where NATS_URL points')
    t.equal(readEnvFile(join(dir, 'stack.env')).NATS_URL, natsUrl)

    // Started later, without NATS_URL: it finds the running one through the file.
    const second = await ensureStack({ dataDir: dir, env: others, ffmpeg: false, session: 'two', log: quiet })
    t.same([second.natsUrl, second.started], [natsUrl, []])

    await stopSession('one', dir)
    const after = readEnvFile(join(dir, 'stack.env'))
    t.equal(after.NATS_URL, undefined, 'a stopped daemon leaves the file')
    t.equal(after.DATABASE_URL, real.databaseUrl, 'what still runs stays')
  },
)

t.test(
  'NATS_REPLICAS=3 on a single nats-server is refused, although the server accepts the update',
  async (t) => {
    const { provision } = await import('../src/provision.js')
    const { DEFAULT_LOG_SETTINGS } = await import('@chatapp/contracts')
    const tn = await createTestNamespace({ shards: 1 })
    t.teardown(() => tn.cleanup())
    await t.rejects(
      provision({
        nc: tn.nc,
        databaseUrl: tn.stack.databaseUrl,
        s3: tn.stack.s3,
        ns: tn.ns,
        shards: 1,
        settings: { ...DEFAULT_LOG_SETTINGS, replicas: 3 },
      }),
      /says num_replicas=3 but has no replicas: NATS is a single server/,
    )
  },
)
