import t from 'tap'
import { PermanentFailure, retryDelayMs, settle } from '../src/failure.js'

t.test('acks a job that succeeded', async (t) => {
  t.same(settle(undefined, 1, 3), { action: 'ack', outcome: 'ready' })
})

t.test('fails a permanent error at once with its code, whatever the attempt', async (t) => {
  t.same(settle(new PermanentFailure('MEDIA_CORRUPT', 'bad'), 1, 3), {
    action: 'fail',
    code: 'MEDIA_CORRUPT',
    reason: 'bad',
  })
})

t.test('retries a transient error with a growing, capped delay until the last attempt', async (t) => {
  t.same(settle(new Error('s3 down'), 1, 3), { action: 'retry', delayMs: 2000 })
  t.same(settle(new Error('s3 down'), 2, 3), { action: 'retry', delayMs: 4000 })
  t.equal(retryDelayMs(30), 60_000)
  t.match(settle(new Error('s3 down'), 3, 3), {
    action: 'fail',
    code: 'MEDIA_PROCESSING_FAILED',
    reason: /3 attempts: s3 down/,
  })
})
