import { createLogger } from '@chatapp/kit'
import t from 'tap'
import { createStateStore } from '../../src/conversation/state-store.js'
import { createFeed } from '../../src/feed/feed.js'
import { directWriter } from '../support/direct-writer.js'
import { parseFrame, testSubscriber } from '../support/test-subscriber.js'

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'

/** A connection as the feed sees it, recording the frames it is sent. */
const subscriber = (userId: string) => {
  const frames: { type: string; seq?: number; conversationId?: string }[] = []
  const sub = testSubscriber(userId, {
    sendRaw: (text) => {
      frames.push(parseFrame(text))
      return true
    },
  })
  return { sub, frames }
}

t.test(
  'a second catch-up of the same connection and conversation (a sync reaching a conversation whose membership notice is being replayed) waits for the first and answers the cursor it reaches',
  async (t) => {
    const { tn, log, runner, d } = await directWriter(t, A, B)
    // Long enough that replaying it takes many round trips.
    for (let i = 0; i < 120; i++)
      await runner.run(d, {
        type: 'send',
        actor: i % 2 ? A : B,
        deviceId: 'dev',
        clientMsgId: `cm_catchup_${i}`,
        kind: 'text',
        text: `m${i}`,
      })
    const head = await log.lastSeq(d, 'm')

    // A fresh gateway's feed and store: the replay reads the log.
    const feed = createFeed({
      nc: tn.nc,
      names: tn.names,
      log,
      store: await createStateStore(tn.nc, tn.names, log),
      logger: createLogger('t', 'silent'),
    })
    t.teardown(() => feed.close())
    const { sub, frames } = subscriber(B)
    const first = feed.attach(sub, d, 0) // the notice's replay
    const second = feed.attach(sub, d, 0) // the sync reaching the same conversation meanwhile
    t.equal(await second, head, 'the second attach answers the head the replay reaches, not where it was')
    t.equal(await first, head)
    feed.release(sub, [d])
    const sent = frames.filter((f) => f.type === 'event' && f.conversationId === d).map((f) => f.seq!)
    t.equal(sent.length, new Set(sent).size, 'each event once')
    t.equal(sent.at(-1), head)
  },
)
