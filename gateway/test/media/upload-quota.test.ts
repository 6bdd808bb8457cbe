import t from 'tap'
import { decideReservation, utcDay } from '../../src/media/upload-quota.js'

const q = { dailyBytes: 1000, unattachedBytes: 500, unattachedTtlMs: 3600_000 }
const noon = Date.UTC(2026, 0, 10, 12, 0, 0)
const none = { dayBytes: 0, unattachedBytes: 0, oldestUnattachedAt: undefined }

t.test('an upload that fits both quotas may reserve', async (t) => {
  t.same(decideReservation(none, 500, 500, q, noon), { ok: true })
  t.same(
    decideReservation(
      { dayBytes: 900, unattachedBytes: 0, oldestUnattachedAt: undefined },
      100,
      100,
      q,
      noon,
    ),
    {
      ok: true,
    },
  )
})

t.test('the daily quota refuses until the next UTC midnight', async (t) => {
  const d = decideReservation(
    { dayBytes: 950, unattachedBytes: 0, oldestUnattachedAt: undefined },
    100,
    100,
    q,
    noon,
  )
  t.match(d, { ok: false, code: 'QUOTA_EXCEEDED', retryAfterMs: 12 * 3600_000 })
  t.equal(utcDay(noon + 12 * 3600_000), utcDay(noon) + 1, 'which is when the day changes')
})

t.test('the unattached quota refuses until the oldest unattached upload expires', async (t) => {
  const oldest = noon - 3000_000
  t.match(
    decideReservation({ dayBytes: 0, unattachedBytes: 450, oldestUnattachedAt: oldest }, 100, 100, q, noon),
    {
      ok: false,
      code: 'QUOTA_EXCEEDED',
      retryAfterMs: 600_000,
    },
  )
  t.match(
    decideReservation(
      { dayBytes: 0, unattachedBytes: 450, oldestUnattachedAt: undefined },
      100,
      100,
      q,
      noon,
    ),
    { ok: false, code: 'QUOTA_EXCEEDED', retryAfterMs: 60_000 },
    'only uploads in progress: a minute',
  )
  t.match(
    decideReservation(
      { dayBytes: 0, unattachedBytes: 450, oldestUnattachedAt: noon - 3600_000 - 5 },
      100,
      100,
      q,
      noon,
    ),
    { retryAfterMs: 1000 },
    'never less than a second',
  )
})

t.test('an upload larger than a whole quota is too large, not a reason to wait', async (t) => {
  t.match(decideReservation(none, 501, 501, q, noon), { ok: false, code: 'PAYLOAD_TOO_LARGE' })
  t.match(
    decideReservation(none, 1, 501, q, noon),
    { ok: false, code: 'PAYLOAD_TOO_LARGE' },
    'the total decides',
  )
  t.notOk('retryAfterMs' in decideReservation(none, 501, 501, q, noon))
})
