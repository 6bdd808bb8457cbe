import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { verifyArchive } from '../../src/archive/archive-verify.js'
import { created, sent, U } from '../support/events.js'
import { append, waitFor } from '../support/log.js'
import { killHard } from '../support/projector-process.js'
import { viewsNamespace } from '../support/views-namespace.js'
import { testArchive } from './support.js'

/**
 * kill -9 of the archiver at every step of recording a segment (stored, read back, heads
 * recorded, checkpoint moved), while events keep coming: the next archiver resumes without a hole
 * or a duplicate, and the archive holds every sequence of the stream exactly once.
 */
t.setTimeout(120_000)
const { tn, n, js, jsm, pool } = await viewsNamespace(1)
const archive = testArchive(tn, n, pool)
const CHILD = fileURLToPath(new URL('../support/archiver-child.mjs', import.meta.url))

const spawnArchiver = (stage: string): { child: ChildProcess; reached: Promise<string> } => {
  const child = spawn(
    process.execPath,
    [
      CHILD,
      JSON.stringify({
        natsUrl: tn.stack.natsUrl,
        databaseUrl: tn.stack.databaseUrl,
        s3: tn.stack.s3,
        ns: n.ns,
        shards: n.shards,
        segmentEvents: 5,
        stage,
      }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const reached = new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.startsWith(`${stage} `))
      if (line) resolve(line.slice(stage.length + 1))
    })
    child.on('exit', (code) => reject(new Error(`archiver child exited (${code}) before ${stage}`)))
  })
  reached.catch(() => {})
  t.teardown(() => killHard(child))
  return { child, reached }
}

t.test('an archiver killed at any step of a segment resumes without holes or duplicates', async (t) => {
  const id = 'c_crasharc1'
  await append(js, n, created(id, [U.ann, U.bob]))
  let k = 0
  const more = async (count: number) => {
    for (let i = 0; i < count; i++) await append(js, n, sent(id, U.ann, ++k))
  }
  await more(12)
  for (const stage of ['stored', 'verified', 'heads', 'recorded']) {
    const { child, reached } = spawnArchiver(stage)
    const key = await reached
    await killHard(child)
    t.match(
      key,
      /^segments\/0000\/\d{16}-\d{16}-[0-9a-f]{64}\.ndjson\.gz$/,
      `killed after "${stage}" of ${key}`,
    )
    await more(7)
  }
  const last = (await jsm.streams.info(n.convStream(0))).state.last_seq
  const survivor = await archive.start({ maxAgeMs: 0, maxBytes: 0 }, { maxEvents: 5 })
  await waitFor(
    async () => (await archive.reader.archivedTo(0)) >= last,
    20_000,
    'the archive to reach the end',
  )
  await survivor.stop()

  const seqs: number[] = []
  for await (const m of archive.reader.read(0, 0, last)) seqs.push(m.seq)
  t.same(
    seqs,
    Array.from({ length: last }, (_, i) => i + 1),
    'every sequence once, in order',
  )
  const checked = await verifyArchive(jsm, archive.store, n)
  t.same(checked.problems, [], 'verify finds no problem')
  const listed = []
  for await (const ref of archive.store.segments(0, 0)) listed.push(ref)
  t.equal(listed.length, checked.shards[0]!.segments, 'no unrecorded segment is left over')
})
