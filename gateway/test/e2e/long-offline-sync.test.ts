import type { ServerFrameOf } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { createArchiveReader, s3ArchiveStore, s3ClientOf } from '@chatapp/kit'
import { jetstreamManager } from '@nats-io/jetstream'
import pg from 'pg'
import t from 'tap'
import { pgArchiveHeads } from '../../src/archive/archive-heads.js'
import { testGateways } from '../support/gateway.js'
import { eventually, noticesStored, startProjectorProcess } from '../support/projector.js'
import { isType, TestClient } from '../support/ws-client.js'

const A = 'u_alice0001'
const B = 'u_bob000001'

/**
 * Issue 16: a device away for longer than the hot window (one second here) syncs from its
 * cursor and gets every event it missed, in order, with `seq` and `prev` chaining as if the log
 * had never been trimmed; a gateway that never saw the conversation folds it from the archive and
 * can still append to it (its last message left the stream long ago).
 */
t.test('a device away longer than the hot window syncs from the archive with nothing missing', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  const projector = await startProjectorProcess(tn, {
    LOG_HOT_SECONDS: '1',
    ARCHIVE_SEGMENT_EVENTS: '4',
    ARCHIVE_SEGMENT_SECONDS: '0',
    ARCHIVE_POLL_MS: '50',
  })
  t.teardown(projector.kill)
  const s3 = s3ClientOf(tn.stack.s3)
  t.teardown(() => s3.destroy())
  const views = new pg.Pool({ connectionString: tn.stack.databaseUrl, max: 2 })
  t.teardown(() => views.end())
  const archive = () => ({
    reader: createArchiveReader(s3ArchiveStore(s3, tn.names.archiveBucket)),
    heads: pgArchiveHeads(views, tn.names.dbSchemas.archive),
  })
  const gws = await testGateways(tn)
  const g1 = await gws.start({}, { archive: archive() })
  t.teardown(() => g1.close())
  const connect = async (url: string, user: string, cursors?: Record<string, number>) => {
    const c = await TestClient.open(url, { token: await gws.token(user) })
    t.teardown(() => c.close())
    await c.waitFor(isType('hello'))
    c.send({ type: 'sync', rid: 's', ...(cursors ? { cursors } : {}) })
    return { c, synced: await c.waitFor(isType('synced')) }
  }
  const { c: a } = await connect(g1.url, A)
  await gws.token(B)
  const grp = ((await a.request({ type: 'group.create', title: 'g', memberIds: [B] })) as ServerFrameOf<'ok'>)
    .conversationId!
  await noticesStored(tn, B, 1)
  const { c: b, synced } = await connect(g1.url, B)
  const cursor = synced.cursors[grp]!
  b.close()
  await b.waitClosed()

  const sent: number[] = []
  for (let i = 1; i <= 9; i++) {
    const r = (await a.request({
      type: 'send',
      conversationId: grp,
      clientMsgId: `cm_away${String(i).padStart(4, '0')}`,
      kind: 'text',
      text: `m${i}`,
    })) as ServerFrameOf<'sent'>
    sent.push(r.seq)
  }
  const jsm = await jetstreamManager(tn.nc)
  const stream = tn.names.convStream(tn.names.shardOf(grp))
  await eventually(
    async () => (await jsm.streams.info(stream)).state.first_seq > sent[sent.length - 1]!,
    30_000,
    'the hot window to pass and the stream to be trimmed past every message',
  )

  // A gateway that has never folded this conversation: its state comes from the archive.
  const g2 = await gws.start({}, { archive: archive() })
  t.teardown(() => g2.close())
  const { c: back, synced: again } = await connect(g2.url, B, { [grp]: cursor })
  const got = back.events(grp).filter((e) => e.lane === 'm')
  t.same(
    got.map((e) => e.seq),
    sent,
    'every message missed, in order, though none of them is in the stream any more',
  )
  t.same(
    got.map((e) => e.prev),
    [cursor, ...sent.slice(0, -1)],
    'each one names its predecessor: the client can prove it has no gap',
  )
  t.equal(again.cursors[grp], sent[sent.length - 1])

  const { c: a2 } = await connect(g2.url, A)
  const more = (await a2.request({
    type: 'send',
    conversationId: grp,
    clientMsgId: 'cm_away0010',
    kind: 'text',
    text: 'after the trim',
  })) as ServerFrameOf<'sent'>
  t.ok(more.seq > sent[sent.length - 1]!, 'a send to a conversation whose history is all archived is stored')
  const live = await back.waitFor(
    (f): f is ServerFrameOf<'event'> => f.type === 'event' && f.seq === more.seq,
  )
  t.equal(live.prev, sent[sent.length - 1], 'and its prev is the archived last message')
})
