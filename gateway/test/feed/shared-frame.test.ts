import { createLogger } from '@chatapp/kit'
import t from 'tap'
import { createStateStore } from '../../src/conversation/state-store.js'
import { createFeed } from '../../src/feed/feed.js'
import { directWriter } from '../support/direct-writer.js'
import { testSubscriber } from '../support/test-subscriber.js'

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'

/** A connection as the feed sees it, keeping what it is handed exactly as handed. */
const subscriber = (userId: string, deviceId: string) => {
  const raw: (string | Uint8Array)[] = []
  let arrived = () => {}
  const sub = testSubscriber(userId, {
    deviceId,
    sendRaw: (frame) => {
      raw.push(frame)
      arrived()
      return true
    },
  })
  /** Resolves once `n` frames have arrived (bounded: fails the test after `ms`). */
  const frames = (n: number, ms = 10_000) =>
    new Promise<(string | Uint8Array)[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${raw.length} of ${n} frames after ${ms} ms`)), ms)
      arrived = () => {
        if (raw.length < n) return
        clearTimeout(timer)
        resolve(raw)
      }
      arrived()
    })
  return { sub, frames }
}

t.test(
  'a live message is encoded once for its room: every subscriber is handed the same UTF-8 bytes of the same frame',
  async (t) => {
    const { tn, log, runner, d } = await directWriter(t, A, B)
    const head = await log.lastSeq(d, 'm')

    const feed = createFeed({
      nc: tn.nc,
      names: tn.names,
      log,
      store: await createStateStore(tn.nc, tn.names, log),
      logger: createLogger('t', 'silent'),
    })
    t.teardown(() => feed.close())
    // Two devices of B, live in the conversation from its current head.
    const phone = subscriber(B, 'phone')
    const tablet = subscriber(B, 'tablet')
    for (const s of [phone, tablet]) {
      t.equal(await feed.attach(s.sub, d, head), head)
      feed.release(s.sub, [d])
    }

    const sent = await runner.run(d, {
      type: 'send',
      actor: A,
      deviceId: 'dev',
      clientMsgId: 'cm_shared_1',
      kind: 'text',
      text: 'héllo wörld',
    })
    if (!sent.ok) throw new Error(`send refused: ${sent.code}`)
    const [p] = await phone.frames(1)
    const [q] = await tablet.frames(1)
    t.ok(p instanceof Uint8Array, 'handed as bytes, not a string to convert per socket')
    t.equal(p, q, 'the very same buffer for both sockets: encoded once')
    const frame = JSON.parse(Buffer.from(p as Uint8Array).toString('utf8'))
    t.match(frame, {
      type: 'event',
      conversationId: d,
      seq: sent.seq,
      prev: head,
      lane: 'm',
      event: { type: 'message.sent', actor: A, data: { text: 'héllo wörld' } },
    })
    t.notOk('rid' in frame, 'the shared frame answers no one’s send')
  },
)
