import t from 'tap'
import { archiveStatus } from '../../src/archive/archive-status.js'
import { verifyArchive } from '../../src/archive/archive-verify.js'
import { rebuild } from '../../src/rebuild.js'
import { replay } from '../../src/replay.js'
import { verify } from '../../src/verify.js'
import { created, sent, U } from '../support/events.js'
import { append, waitFor } from '../support/log.js'
import { viewsNamespace } from '../support/views-namespace.js'
import { testArchive } from './support.js'

/**
 * Issue 16 with a hot window of one second: history leaves the streams once archived and
 * projected, and replay, verify and rebuild read it from the archive as if it never had.
 */
t.setTimeout(90_000)
const { tn, n, js, jsm, pool, q, offsetOf, start } = await viewsNamespace(2)
const archive = testArchive(tn, n, pool)
const convs = ['c_retain001', 'c_retain002', 'c_retain003']

const firstSeqs = async () =>
  Promise.all(
    Array.from({ length: n.shards }, async (_, s) => (await jsm.streams.info(n.convStream(s))).state),
  )
const projectedAll = async () => {
  for (const [s, st] of (await firstSeqs()).entries()) if ((await offsetOf(s)) < st.last_seq) return false
  return true
}
const replayAll = async (id: string) => {
  const out = []
  for await (const l of replay(js, jsm, n, id, {}, archive.source)) out.push(l)
  return out
}
const dump = async () =>
  JSON.stringify([
    await q('SELECT * FROM V.conversations ORDER BY conversation_id'),
    await q('SELECT * FROM V.members ORDER BY conversation_id, user_id'),
    await q('SELECT * FROM V.messages ORDER BY conversation_id, seq'),
  ])

t.test('events older than the hot window leave the stream only once archived and projected', async (t) => {
  for (const c of convs) await append(js, n, created(c, [U.ann, U.bob]))
  for (let i = 1; i <= 20; i++) for (const c of convs) await append(js, n, sent(c, i % 2 ? U.ann : U.bob, i))

  // The archiver runs, the projector does not: everything is archived, nothing may be trimmed.
  const archivers = await archive.start({ maxAgeMs: 1000, maxBytes: 0 })
  const last = (await firstSeqs()).map((s) => s.last_seq)
  await waitFor(
    async () =>
      (
        await Promise.all(last.map(async (l, s) => ((await archive.reader.archivedTo(s)) >= l ? 1 : 0)))
      ).every(Boolean),
    20_000,
    'the archive to reach the end of every stream',
  )
  await new Promise((r) => setTimeout(r, 1500)) // past the hot window: only the projector holds them now
  t.same(
    (await firstSeqs()).map((s) => s.first_seq),
    [1, 1],
    'nothing left a stream while the views had not applied it',
  )
  const stream0 = await jsm.streams.info(n.convStream(0))
  t.equal(stream0.config.max_age, 0, 'the stream has no age limit of its own: only the archiver trims')

  const before = Object.fromEntries(await Promise.all(convs.map(async (c) => [c, await replayAll(c)])))
  const projector = await start()
  let projecting = true
  t.teardown(() => (projecting ? projector.stop() : undefined))
  await waitFor(projectedAll, 20_000, 'the projector to catch up')
  const viewsBefore = await dump()
  await waitFor(
    async () => (await firstSeqs()).every((s, i) => s.first_seq === last[i]! + 1),
    20_000,
    'the streams to be trimmed to their end',
  )
  await archivers.stop()

  // Early history now exists only in the archive; a tail is appended to the stream.
  for (let i = 21; i <= 25; i++) await append(js, n, sent(convs[0]!, U.ann, i))
  await waitFor(projectedAll, 20_000, 'the projector to apply the tail')

  const after = await replayAll(convs[0]!)
  t.same(
    after.slice(0, before[convs[0]!].length),
    before[convs[0]!],
    'replay reads the archive as the stream read before',
  )
  t.same(
    after.slice(-5).map((l) => l.summary.includes('25') || l.type === 'message.sent'),
    [true, true, true, true, true],
  )
  t.equal(
    after.length,
    before[convs[0]!].length + 5,
    'then the stream, with nothing missing and nothing twice',
  )
  for (const c of convs.slice(1)) t.same(await replayAll(c), before[c], `${c} replays from the archive alone`)
  const fromSeq = await replay(js, jsm, n, convs[1]!, { fromSeq: 10 }, archive.source).next()
  t.ok((fromSeq.value?.seq ?? 0) >= 10, 'replay from a sequence in the archive starts there')
  const since = async (d: Date) => {
    const out = []
    for await (const l of replay(js, jsm, n, convs[0]!, { since: d }, archive.source)) out.push(l.seq)
    return out
  }
  t.same(
    await since(new Date(0)),
    after.map((l) => l.seq),
    'replay --since a time before the archive: everything',
  )
  t.same(await since(new Date(Date.now() + 60_000)), [], 'replay --since the future: nothing')

  const base = {
    js,
    jsm,
    pool,
    databaseUrl: tn.stack.databaseUrl,
    names: n,
    batch: 50,
    archive: archive.source,
  }
  t.same(
    (await verify(base)).differences,
    [],
    'verify recomputes the views from archive and stream: no difference',
  )
  await projector.stop()
  projecting = false
  const viewsLive = await dump()
  const r = await rebuild(base)
  t.ok(r.events >= 3 * 21 + 5, 'the rebuild read every event, most from the archive')
  t.equal(
    await dump(),
    viewsLive,
    'a rebuild from archive and stream gives the views the live projection built',
  )
  t.not(viewsBefore, viewsLive, '(the tail is in them)')

  const status = await archiveStatus(jsm, archive.store, n)
  t.ok(
    status.every((s) => s.hotFrom > 1 && s.archivedTo >= s.hotFrom - 1 && s.segments > 0),
    'status: trimmed, archived',
  )
  const checked = await verifyArchive(jsm, archive.store, n)
  t.same(checked.problems, [], 'archive verify: every segment reads back, sequences continuous from 1')
})
