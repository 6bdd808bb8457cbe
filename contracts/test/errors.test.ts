import t from 'tap'
import { ChatError, ERRORS, errorBody, isChatError } from '../src/errors.js'

t.test('an error body takes its retryable flag from the catalogue', async (t) => {
  t.same(errorBody('RATE_LIMITED', undefined, { retryAfterMs: 100 }), {
    code: 'RATE_LIMITED',
    message: ERRORS.RATE_LIMITED.meaning,
    retryable: true,
    retryAfterMs: 100,
  })
  t.equal(errorBody('NOT_A_MEMBER').retryable, false)
  t.same(errorBody('INVALID_FRAME', 'x', { details: ['a'] }).details, ['a'])
})

t.test('a ChatError carries its code and cause to the edge', async (t) => {
  const cause = new Error('db down')
  const e = new ChatError('UNAVAILABLE', 'postgres unreachable', { cause, details: ['pg'] })
  t.ok(isChatError(e))
  t.notOk(isChatError(cause))
  t.equal(e.cause, cause)
  t.same(e.toBody(), {
    code: 'UNAVAILABLE',
    message: 'postgres unreachable',
    retryable: true,
    details: ['pg'],
  })
  t.equal(new ChatError('NOT_ADMIN').message, ERRORS.NOT_ADMIN.meaning)
  t.same(new ChatError('UNAVAILABLE', 'log down', { retryAfterMs: 500 }).toBody(), {
    code: 'UNAVAILABLE',
    message: 'log down',
    retryable: true,
    retryAfterMs: 500,
  })
})

t.test('every code has an HTTP status in the 4xx or 5xx range', async (t) => {
  for (const [code, e] of Object.entries(ERRORS)) t.ok(e.status >= 400 && e.status < 600, code)
})

t.test('a ChatError without details has none in its body', async (t) => {
  t.same(new ChatError('BUSY', 'hot').toBody(), { code: 'BUSY', message: 'hot', retryable: true })
})
