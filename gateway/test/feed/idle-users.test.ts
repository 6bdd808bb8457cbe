import { encodeJson, type MembershipNotice } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { type ConversationLog, createConversationLog, createLogger } from '@chatapp/kit'
import { jetstream } from '@nats-io/jetstream'
import t from 'tap'
import type { StateStore } from '../../src/conversation/state-store.js'
import { createUserFeeds } from '../../src/feed/user-feeds.js'
import { testSubscriber } from '../support/test-subscriber.js'

const U = 'u_idleuser'

/** The log, counting the reads of a user index (one last-sequence get starts each). */
const counting = (log: ConversationLog) => {
  const n = { indexReads: 0 }
  const ranges = {
    ...log.ranges,
    last: (stream: string, subject: string) => {
      n.indexReads++
      return log.ranges.last(stream, subject)
    },
  }
  return { log: { ...log, ranges } as ConversationLog, n }
}

const subscriber = (userId: string) => testSubscriber(userId, { deviceId: 'phone', synced: false })

/** Until `ok()` holds, or fails the test after `ms`. */
const until = async (ok: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setImmediate(r))
  }
}

t.test(
  'a user who reconnects soon after their last connection closed is not read again, and what changed meanwhile is known; after the idle time it is let go',
  async (t) => {
    const tn = await createTestNamespace()
    t.teardown(tn.cleanup)
    const js = jetstream(tn.nc)
    const notice = (conversationId: string, convSeq: number): Promise<unknown> => {
      const m: MembershipNotice = {
        v: 1,
        id: `n_${conversationId}`,
        userId: U,
        conversationId,
        joined: true,
        convSeq,
        at: Date.now(),
      }
      return js.publish(tn.names.userSubject(U), encodeJson(m))
    }
    await notice('d_idle_one', 3)
    const { log, n } = counting(await createConversationLog(tn.nc, tn.names))
    const feeds = (idleUserMs: number) => {
      const f = createUserFeeds({
        nc: tn.nc,
        names: tn.names,
        log,
        store: {} as StateStore, // invitations only: none here
        logger: createLogger('t', 'silent'),
        idleUserMs,
      })
      t.teardown(() => f.closeAll())
      return f
    }

    const kept = feeds(60_000)
    const phone = subscriber(U)
    t.same([...(await kept.add(phone)).keys()], ['d_idle_one'])
    t.equal(n.indexReads, 1)
    kept.remove(phone)
    t.equal(kept.size(), 1, 'kept while idle')
    // A conversation while the user is away: folded from the live notice.
    await notice('d_idle_two', 7)
    await until(async () => (await kept.conversationsOf(U)).has('d_idle_two'))
    const back = await kept.add(subscriber(U))
    t.same([...back.keys()].sort(), ['d_idle_one', 'd_idle_two'], 'the reconnect knows both conversations')
    t.equal(n.indexReads, 1, 'and did not read the index again')

    // Without the idle time (the old behaviour) a reconnect reads the index again.
    const eager = feeds(0)
    const tablet = subscriber(U)
    await eager.add(tablet)
    eager.remove(tablet)
    t.equal(eager.size(), 0, 'let go at once')
    const before = n.indexReads
    await eager.add(subscriber(U))
    t.equal(n.indexReads, before + 1, 'read again')

    // The idle time ends: the entry is let go.
    const brief = feeds(30)
    const watch = subscriber(U)
    await brief.add(watch)
    brief.remove(watch)
    t.equal(brief.size(), 1)
    await until(() => brief.size() === 0)
    t.pass('let go after its idle time')
  },
)
