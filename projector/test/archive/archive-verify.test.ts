import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { verifyArchive } from '../../src/archive/archive-verify.js'
import { runCli } from '../../src/cli-run.js'
import { replay } from '../../src/replay.js'
import { created, sent, U } from '../support/events.js'
import { append, waitFor } from '../support/log.js'
import { viewsNamespace } from '../support/views-namespace.js'
import { testArchive } from './support.js'

t.setTimeout(60_000)
const { tn, n, js, jsm, pool, start } = await viewsNamespace(1)
const archive = testArchive(tn, n, pool)
const id = 'c_corrupt01'

const cli = async (args: string[]) => {
  let out = ''
  let err = ''
  const code = await runCli(args, {
    out: (s) => {
      out += s
    },
    err: (s) => {
      err += s
    },
    isTTY: false,
    env: { ...tn.env },
  })
  return { code, out, err }
}

t.test('archive status and verify report a healthy archive, in tables and JSON', async (t) => {
  await append(js, n, created(id, [U.ann, U.bob]))
  for (let i = 1; i <= 20; i++) await append(js, n, sent(id, U.bob, i))
  const projector = await start()
  t.teardown(() => projector.stop())
  const archivers = await archive.start({ maxAgeMs: 500, maxBytes: 0 }, { maxEvents: 6 })
  await waitFor(
    async () => (await jsm.streams.info(n.convStream(0))).state.first_seq === 22,
    20_000,
    'the trim',
  )
  await archivers.stop()
  await projector.stop()

  const status = await cli(['archive', 'status', '--json'])
  t.equal(status.code, 0, status.err)
  const [row] = JSON.parse(status.out)
  t.match(row, { shard: 0, archivedTo: 21, hotFrom: 22, lastSeq: 21, segments: 4, events: 21, lagEvents: 0 })
  t.ok(row.bytes > 0)
  const table = await cli(['archive', 'status'])
  t.match(table.out, /\b0\s+21\s+22\s+21\s+4\s/, 'the table shows shard 0 archived to 21, hot from 22')
  const ok = await cli(['archive', 'verify', '--json'])
  t.equal(ok.code, 0, ok.err)
  t.same(JSON.parse(ok.out).problems, [])
  const replayed = await cli(['replay', id, '--json'])
  t.equal(JSON.parse(replayed.out).length, 21, 'the CLI replays from the archive')
})

t.test('a corrupted segment is found by verify, and a read of it fails instead of skipping it', async (t) => {
  const refs = []
  for await (const ref of archive.store.segments(0, 0)) refs.push(ref)
  const victim = refs[1]!
  const got = await archive.s3.send(new GetObjectCommand({ Bucket: n.archiveBucket, Key: victim.key }))
  const bytes = Buffer.from(await got.Body!.transformToByteArray())
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff
  await archive.s3.send(new PutObjectCommand({ Bucket: n.archiveBucket, Key: victim.key, Body: bytes }))

  const r = await verifyArchive(jsm, archive.store, n)
  t.same(
    r.problems.map((p) => [p.key, p.kind]),
    [[victim.key, 'checksum']],
    'exactly the corrupted segment, as a checksum failure',
  )
  const cmd = await cli(['archive', 'verify'])
  t.equal(cmd.code, 1, 'exit status 1')
  t.match(cmd.out, /1 problem\(s\)[\s\S]*checksum/)
  const fresh = testArchive(tn, n, pool) // no cached copy of the good segment
  await t.rejects(
    (async () => {
      for await (const _ of replay(js, jsm, n, id, {}, fresh.source));
    })(),
    { code: 'ARCHIVE_CORRUPT' },
    'replay refuses to read around it',
  )
})
