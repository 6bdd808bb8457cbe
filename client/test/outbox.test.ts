import type { ClientFrame } from '@chatapp/contracts'
import t from 'tap'
import { ChatClientError } from '../src/errors.js'
import { Outbox } from '../src/outbox.js'

const A = 'd_conv00000a'
const B = 'd_conv00000b'

const setup = (timeoutMs = 60_000) => {
  const written: ClientFrame[] = []
  const box = new Outbox(100, timeoutMs, (f) => written.push(structuredClone(f)))
  const send = (conversationId: string, text: string, connected = true) => {
    const p = box.request(
      'send',
      { type: 'send', conversationId, clientMsgId: `cm_${text}_xxxx`, kind: 'text', text },
      true,
      connected,
    )
    p.catch(() => {})
    return p
  }
  const texts = () => written.map((f) => (f.type === 'send' ? f.text : f.type))
  const ridOf = (text: string) =>
    (written.find((f) => f.type === 'send' && f.text === text) as { rid: string }).rid
  return { box, written, send, texts, ridOf }
}

t.test('on the first connection sends are pipelined', async (t) => {
  const { send, texts } = setup()
  send(A, 'a1')
  send(A, 'a2')
  t.same(texts(), ['a1', 'a2'])
})

t.test('after a reconnect each conversation replays its sends one at a time, in order', async (t) => {
  const { box, send, texts, written, ridOf } = setup()
  send(A, 'a1')
  send(A, 'a2')
  send(B, 'b1')
  void box.request('command', { type: 'direct.open', peerId: 'u_someone01' }, true, true).catch(() => {})
  written.length = 0
  box.failUnresendable(new ChatClientError('CLIENT_DISCONNECTED'))
  box.resendAll()
  t.same(texts(), ['direct.open', 'a1', 'b1'], 'commands at once, and the head of each chain')
  t.ok(
    written.every((f) => f.type !== 'send' || f.retry === true),
    'resends carry retry: true',
  )
  send(A, 'a3') // a new send queues behind the chain
  t.same(texts(), ['direct.open', 'a1', 'b1'])
  box.take(ridOf('a1'))
  t.same(texts(), ['direct.open', 'a1', 'b1', 'a2'])
  box.take(ridOf('a2'))
  t.same(texts(), ['direct.open', 'a1', 'b1', 'a2', 'a3'])
  t.notOk((written.at(-1) as { retry?: boolean }).retry, 'a first write is no retry')
  box.take(ridOf('a3'))
  send(A, 'a4') // the chain is over: pipelined again
  t.same(texts().at(-1), 'a4')
  t.equal(box.take('unknown'), undefined)
})

t.test('a chain moves on when its head times out', async (t) => {
  // The outbox's timer is unref'd (a client's socket keeps the process up); here, this does.
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(keepAlive))
  const { box, send, texts, written } = setup(60)
  const first = send(A, 'a1')
  // Not synchronisation: gives a2 a later deadline than a1, so only a1 expires first.
  await new Promise((r) => setTimeout(r, 30))
  send(A, 'a2')
  written.length = 0
  box.resendAll()
  t.same(texts(), ['a1'])
  await t.rejects(first, { code: 'CLIENT_TIMEOUT' })
  t.same(texts(), ['a1', 'a2'], 'the next one went out when the head timed out')
  box.failAll(new ChatClientError('CLIENT_CLOSED'))
  t.equal(box.size, 0)
})
