import type { MembershipNotice } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { type ConversationLog, createConversationLog, createLogger } from '@chatapp/kit'
import t, { type Test } from 'tap'
import { createCommandRunner } from '../../src/conversation/command-runner.js'
import { directConversationId } from '../../src/conversation/conversation-ids.js'
import { createStateStore } from '../../src/conversation/state-store.js'
import { createFeed } from '../../src/feed/feed.js'
import { RUNNER_LIMITS } from '../support/gateway.js'
import { eventually } from '../support/projector.js'
import { parseFrame, testSubscriber } from '../support/test-subscriber.js'

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'

/** A gateway's feed whose catch-up reads of the conversation fail `failing` times, and one live device of B. */
const setup = async (t: Test, failing: number) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  const log = await createConversationLog(tn.nc, tn.names)
  const runner = createCommandRunner(log, await createStateStore(tn.nc, tn.names, log), {
    limits: RUNNER_LIMITS,
  })
  const d = directConversationId(A, B)
  const created = await runner.run(d, {
    type: 'direct.open',
    actor: A,
    peerId: B,
    known: new Set([A, B]),
  })
  const seq = created.ok ? created.seq! : 0
  t.ok(seq > 0, 'the conversation is stored')

  // The gateway's log: the first `failing` catch-up reads of the conversation fail, as a read
  // does when the log does not answer within its deadline (a loaded machine). Later reads work.
  let failures = 0
  const flaky: ConversationLog = {
    ...log,
    read(id, after, upTo, lane) {
      if (id === d && failures < failing) {
        failures++
        return (async function* () {
          yield* []
          throw new Error('the log did not answer in time')
        })()
      }
      return log.read(id, after, upTo, lane)
    },
  }
  const feed = createFeed({
    nc: tn.nc,
    names: tn.names,
    log: flaky,
    store: await createStateStore(tn.nc, tn.names, log),
    logger: createLogger('t', 'silent'),
  })
  t.teardown(() => feed.close())

  const frames: { type: string; seq?: number; conversationId?: string }[] = []
  let closed: string | undefined
  const sub = testSubscriber(B, {
    sendRaw: (text) => {
      frames.push(parseFrame(text))
      return true
    },
    closeSlow: (reason) => {
      closed = reason
    },
    closeFailed: (reason) => {
      closed = reason
    },
  })
  await feed.addConnection(sub)

  // The projector's live notice that B joined (what the user stream RePublishes).
  const notice: MembershipNotice = {
    v: 1,
    id: `${d}:${seq}:${B}`,
    userId: B,
    conversationId: d,
    joined: true,
    convSeq: seq,
    at: Date.now(),
  }
  tn.nc.publish(tn.names.liveUserSubject(B), JSON.stringify(notice))

  const events = () => frames.filter((f) => f.type === 'event' && f.conversationId === d).map((f) => f.seq)
  return { seq, feed, sub, events, failures: () => failures, closed: () => closed }
}

t.test(
  'a membership notice whose catch-up fails once (the log unavailable for a moment) still brings the conversation to the live device',
  async (t) => {
    const x = await setup(t, 1)
    await eventually(
      async () => x.events().length > 0 || x.closed() !== undefined,
      10_000,
      'the conversation (or a close) reaching the device',
    ).catch(() => {})
    t.equal(x.failures(), 1, 'the catch-up read failed once')
    t.same(x.events(), [x.seq], 'the device is sent the conversation once')
    t.equal(x.closed(), undefined, 'without closing its socket')
  },
)

t.test(
  'a membership notice whose catch-up keeps failing closes the device socket (its reconnect syncs) and pins nothing',
  async (t) => {
    const x = await setup(t, Number.POSITIVE_INFINITY)
    await eventually(async () => x.closed(), 10_000, 'the socket closed')
    t.same(x.events(), [], 'nothing was sent')
    t.notOk(x.sub.rooms.size, 'the device is in no room')
    t.equal(x.feed.stats().rooms, 0, 'no room is left open for it')
  },
)
