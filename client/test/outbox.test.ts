import { type ClientFrame, errorBody } from '@chatapp/contracts'
import t from 'tap'
import { ChatClientError } from '../src/errors.js'
import { Outbox, type OutboxOptions } from '../src/outbox.js'
import { waitFor } from './fixtures/fake-gateway.js'

const A = 'd_conv00000a'
const B = 'd_conv00000b'

// The outbox's timers are unref'd (a client's socket keeps the process up); here, this does.
const keepAlive = setInterval(() => {}, 1000)
t.teardown(() => clearInterval(keepAlive))

const setup = (o: Partial<OutboxOptions> = {}) => {
  const written: ClientFrame[] = []
  const box = new Outbox({
    max: 100,
    attemptTimeoutMs: 60_000,
    giveUpAfterMs: 60_000,
    retryBackoff: { baseMs: 10, maxMs: 20 },
    write: (f) => written.push(structuredClone(f)),
    ...o,
  })
  box.online()
  const send = (conversationId: string, text: string) => {
    const p = box.request(
      'send',
      { type: 'send', conversationId, clientMsgId: `cm_${text}_xxxx`, kind: 'text', text },
      true,
    )
    p.catch(() => {})
    return p
  }
  const texts = () => written.map((f) => (f.type === 'send' ? f.text : f.type))
  const last = (text: string) =>
    written.findLast((f) => f.type === 'send' && f.text === text) as Extract<ClientFrame, { type: 'send' }>
  const refuse = (text: string, code: 'UNAVAILABLE' | 'NOT_A_MEMBER', retryAfterMs?: number) =>
    box.refuse(
      last(text).rid,
      ChatClientError.fromBody(errorBody(code, undefined, retryAfterMs ? { retryAfterMs } : undefined)),
    )
  t.teardown(() => box.failAll(new ChatClientError('CLIENT_CLOSED')))
  return { box, written, send, texts, last, refuse }
}

t.test('on a fresh connection sends are pipelined', async (t) => {
  const { send, texts, box } = setup()
  send(A, 'a1')
  send(A, 'a2')
  t.same(texts(), ['a1', 'a2'])
  t.equal(box.chained, 0)
})

t.test('after a reconnect each conversation replays its sends one at a time, in order', async (t) => {
  const { box, send, texts, written, last } = setup()
  send(A, 'a1')
  send(A, 'a2')
  send(B, 'b1')
  void box.request('command', { type: 'direct.open', peerId: 'u_someone01' }, true).catch(() => {})
  written.length = 0
  box.offline(new ChatClientError('CLIENT_DISCONNECTED'))
  box.online()
  t.same(texts(), ['direct.open', 'a1', 'b1'], 'commands at once, and the head of each chain')
  t.ok(
    written.every((f) => f.type !== 'send' || f.retry === true),
    'resends carry retry: true',
  )
  send(A, 'a3') // a new send queues behind the chain
  t.same(texts(), ['direct.open', 'a1', 'b1'])
  box.take(last('a1').rid)
  t.same(texts(), ['direct.open', 'a1', 'b1', 'a2'])
  box.take(last('a2').rid)
  t.same(texts(), ['direct.open', 'a1', 'b1', 'a2', 'a3'])
  t.notOk(last('a3').retry, 'never written before, and nothing was refused: no retry')
  box.take(last('a3').rid)
  send(A, 'a4') // the chain is over: pipelined again
  t.same(texts().at(-1), 'a4')
  t.notOk(last('a4').retry, 'a first write outside a chain is no retry')
  t.equal(box.take('unknown'), undefined)
})

t.test('a retryable refusal holds the conversation and writes the refused send again first', async (t) => {
  const { box, send, texts, last, refuse } = setup()
  const a1 = send(A, 'a1')
  send(A, 'a2')
  t.ok(refuse('a1', 'UNAVAILABLE'))
  t.equal(box.chained, 1)
  t.ok(refuse('a2', 'UNAVAILABLE'), 'the pipelined send behind it is refused too (order rule)')
  send(A, 'a3')
  send(B, 'b1')
  t.same(texts(), ['a1', 'a2', 'b1'], 'the other conversation is not held; a3 waits')
  await waitFor('a1 written again', () => texts().length === 4)
  t.same(texts().at(-1), 'a1')
  t.equal(last('a1').retry, true)
  box.take(last('a1').rid)
  t.same(texts().slice(4), ['a2'])
  t.equal(last('a2').retry, true)
  box.take(last('a2').rid)
  t.equal(last('a3').retry, true, 'never written, but the conversation met a refusal: a retry')
  box.take(last('a3').rid)
  t.same(texts().slice(4), ['a2', 'a3'])
  t.equal(box.chained, 0)
  t.equal(box.size, 1, 'b1 is still unanswered')
  void a1
})

t.test('a refusal that is not retryable rejects at once and the chain moves on', async (t) => {
  const { box, send, texts, last, refuse } = setup()
  send(A, 'a1')
  const a2 = send(A, 'a2')
  refuse('a1', 'UNAVAILABLE')
  refuse('a2', 'NOT_A_MEMBER')
  await t.rejects(a2, { code: 'NOT_A_MEMBER' })
  await waitFor('a1 written again', () => texts().length === 3)
  box.take(last('a1').rid)
  t.equal(box.chained, 0, 'nothing left behind the head')
  t.equal(box.size, 0)
  t.notOk(box.refuse('zz', new ChatClientError('UNAVAILABLE')), 'unknown rid')
})

t.test('retryAfterMs is waited before the refused send goes again', async (t) => {
  const { send, texts, refuse } = setup()
  send(A, 'a1')
  const refusedAt = Date.now()
  refuse('a1', 'UNAVAILABLE', 120)
  await waitFor('a1 written again', () => texts().length === 2)
  t.ok(Date.now() - refusedAt >= 120, `after ${Date.now() - refusedAt} ms`)
})

t.test('a refusal arriving while disconnected leaves the send to the next connection', async (t) => {
  const { box, send, texts, refuse } = setup()
  send(A, 'a1')
  box.offline(new ChatClientError('CLIENT_DISCONNECTED'))
  refuse('a1', 'UNAVAILABLE')
  t.same(texts(), ['a1'])
  box.online()
  t.same(texts(), ['a1', 'a1'])
})

t.test('an attempt unanswered in time is written again; a ping fails instead', async (t) => {
  const { box, send, texts, last } = setup({ attemptTimeoutMs: 40 })
  const a1 = send(A, 'a1')
  const ping = box.request('ping', { type: 'ping' }, false)
  await t.rejects(ping, { code: 'CLIENT_TIMEOUT' })
  await waitFor('a1 written again', () => texts().filter((x) => x === 'a1').length === 2)
  t.equal(last('a1').retry, true)
  box.take(last('a1').rid)?.resolve('stored')
  t.equal(await a1, 'stored')
})

t.test('a chain moves on when its head gives up', async (t) => {
  const { box, send, texts, written, refuse } = setup({ giveUpAfterMs: 200 })
  const first = send(A, 'a1')
  refuse('a1', 'UNAVAILABLE', 1000)
  // Not synchronisation: gives a2 a later give-up time than a1, so only a1 gives up first.
  await new Promise((r) => setTimeout(r, 100))
  send(A, 'a2')
  written.length = 0
  await t.rejects(first, { code: 'CLIENT_TIMEOUT', retryable: true })
  t.same(texts(), ['a2'], 'the next one went out when the head gave up, without waiting its wait')
  box.failAll(new ChatClientError('CLIENT_CLOSED'))
  t.equal(box.size, 0)
})

t.test('the outbox is bounded', async (t) => {
  const { box, send } = setup({ max: 2 })
  send(A, 'a1')
  send(A, 'a2')
  await t.rejects(send(A, 'a3'), { code: 'OUTBOX_FULL' })
  t.equal(box.size, 2)
})

t.test(
  'a create left unanswered fails (its outcome is unknown); a waiting command can give up',
  async (t) => {
    const { box, written } = setup({ attemptTimeoutMs: 40, giveUpAfterMs: 150 })
    const create = box.request('command', { type: 'group.create', title: 'T', memberIds: [] }, false)
    await t.rejects(create, { code: 'CLIENT_TIMEOUT', message: /no answer to group.create in 40 ms/ })
    const open = box.request('command', { type: 'direct.open', peerId: 'u_someone01' }, true)
    const rid = (written.at(-1) as { rid: string }).rid
    box.refuse(rid, ChatClientError.fromBody(errorBody('BUSY', undefined, { retryAfterMs: 10_000 })))
    await t.rejects(open, { code: 'CLIENT_TIMEOUT', message: /not settled in 150 ms/ })
    t.equal(written.filter((f) => f.type === 'direct.open').length, 1, 'its wait ended with it')
    t.equal(box.size, 0)
  },
)
