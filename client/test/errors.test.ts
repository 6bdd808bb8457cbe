import { errorBody } from '@chatapp/contracts'
import t from 'tap'
import { ChatClientError, isChatClientError } from '../src/errors.js'
import { newClientMsgId } from '../src/ids.js'

t.test('carries a server error body: code, retryable, retryAfterMs, details', async (t) => {
  const e = ChatClientError.fromBody(
    errorBody('RATE_LIMITED', 'slow down', { retryAfterMs: 250, details: ['x'] }),
  )
  t.ok(isChatClientError(e))
  t.equal(e.code, 'RATE_LIMITED')
  t.equal(e.retryable, true)
  t.equal(e.retryAfterMs, 250)
  t.same(e.details, ['x'])
  t.equal(e.message, 'slow down')
  t.notOk(isChatClientError(new Error('x')))
})

t.test('client-only codes have their own meaning and retry flag', async (t) => {
  const timeout = new ChatClientError('CLIENT_TIMEOUT')
  t.equal(timeout.retryable, true)
  t.match(timeout.message, /No answer/)
  t.equal(new ChatClientError('CLIENT_CLOSED').retryable, false)
  t.equal(new ChatClientError('NOT_A_MEMBER').retryable, false)
  const cause = new Error('root')
  t.equal(new ChatClientError('UNAVAILABLE', 'down', { cause }).cause, cause)
})

t.test('clientMsgIds match the contract pattern and do not repeat', async (t) => {
  const ids = new Set(Array.from({ length: 1000 }, newClientMsgId))
  t.equal(ids.size, 1000)
  for (const id of ids) t.match(id, /^[A-Za-z0-9_-]{8,64}$/)
})
