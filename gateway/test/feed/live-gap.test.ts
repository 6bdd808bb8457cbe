import type { ServerFrameOf } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { connectNats, createLogger, type NatsConnection } from '@chatapp/kit'
import t from 'tap'
import { createTokenService, generatePrivateKeyPem } from '../../src/accounts/token-service.js'
import { defaultGatewayConfig } from '../../src/config.js'
import { startGateway, WS_PATH } from '../../src/gateway.js'
import { memoryDirectory } from '../support/gateway.js'
import { startProjectorProcess } from '../support/projector.js'
import { openSynced } from '../support/ws-client.js'

const A = 'u_alice0001'
const B = 'u_bob000001'

/**
 * Fault injection on the real adapter: the gateway's NATS connection drops chosen live messages,
 * as core NATS may (slow consumer, reconnect), and the room must fill the hole from the log.
 */
const dropping = (nc: NatsConnection, drop: (subject: string, type: string | undefined) => boolean) =>
  new Proxy(nc, {
    get(target, prop) {
      if (prop === 'subscribe') {
        return (subject: string, opts?: Parameters<NatsConnection['subscribe']>[1]) => {
          const cb = opts?.callback
          if (!cb || !subject.includes('.live.conv.')) return target.subscribe(subject, opts)
          return target.subscribe(subject, {
            ...opts,
            callback: (err, msg) => {
              if (!err && drop(msg.subject, msg.headers?.get('Chat-Event'))) return
              cb(err, msg)
            },
          })
        }
      }
      const v = Reflect.get(target, prop, target)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })

t.test('a live event lost on the way is backfilled from the log, in order, before the next', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  // Users learn of new conversations from notices the projector's reactors publish (ADR 0150).
  const projector = await startProjectorProcess(tn)
  t.teardown(projector.kill)
  const nc = await connectNats(tn.stack.natsUrl, 'gap-test', createLogger('t', 'silent'))
  t.teardown(() => nc.close())
  let dropNextMessage = false
  const gnc = dropping(nc, (_subject, type) => {
    if (dropNextMessage && type === 'message.sent') {
      dropNextMessage = false
      return true
    }
    return false
  })
  const tokens = await createTokenService({ privateKeyPem: generatePrivateKeyPem(), ttlS: 600 })
  const gw = await startGateway(defaultGatewayConfig(tn.ns, tn.names.shards), {
    nc: gnc,
    log: createLogger('gw', 'silent'),
    tokens,
    directory: memoryDirectory(new Set([A, B])),
  })
  t.teardown(() => gw.close())
  const url = `ws://127.0.0.1:${gw.port}${WS_PATH}`
  const open = async (user: string) =>
    openSynced(url, (await tokens.issue(user, 'd', `s_${user}`)).accessToken, t)
  const a = await open(A)
  const b = await open(B)
  const dm = ((await a.request({ type: 'direct.open', peerId: B })) as ServerFrameOf<'ok'>).conversationId!
  await b.waitFor((f) => f.type === 'event' && f.conversationId === dm)

  dropNextMessage = true
  const m1 = (await a.request({
    type: 'send',
    conversationId: dm,
    clientMsgId: 'cm_gap00001',
    kind: 'text',
    text: 'lost live',
  })) as ServerFrameOf<'sent'>
  const m2 = (await a.request({
    type: 'send',
    conversationId: dm,
    clientMsgId: 'cm_gap00002',
    kind: 'text',
    text: 'next',
  })) as ServerFrameOf<'sent'>
  await b.waitFor((f) => f.type === 'event' && f.seq === m2.seq)
  const got = b.events(dm).filter((e) => e.event.type === 'message.sent')
  t.same(
    got.map((e) => [e.seq, e.prev]),
    [
      [m1.seq, m1.seq - 1],
      [m2.seq, m1.seq],
    ],
    'the lost event arrives first, then the next, each with its prev',
  )
  t.notOk(dropNextMessage, 'the live message was indeed dropped')
})
