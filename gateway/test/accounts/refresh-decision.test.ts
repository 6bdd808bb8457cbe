import t from 'tap'
import { decideRefresh } from '../../src/accounts/refresh-decision.js'

const live = { revokedAt: null }
const current = { expiresAt: 2000, rotatedAt: null }

t.test('rotates a current, unexpired token of a live session', async (t) => {
  t.same(decideRefresh(current, live, 1000), { action: 'rotate' })
})

t.test('treats a second use of a rotated token as reuse, even after it expired', async (t) => {
  t.same(decideRefresh({ expiresAt: 2000, rotatedAt: 500 }, live, 1000), { action: 'reuse' })
  t.same(decideRefresh({ expiresAt: 2000, rotatedAt: 500 }, live, 5000), { action: 'reuse' })
})

t.test('refuses unknown and expired tokens, and tokens of revoked sessions, changing nothing', async (t) => {
  t.same(decideRefresh(undefined, undefined, 1000), { action: 'refuse', why: 'unknown' })
  t.same(decideRefresh(current, undefined, 1000), { action: 'refuse', why: 'unknown' })
  t.same(decideRefresh(current, live, 2000), { action: 'refuse', why: 'expired' })
  t.same(decideRefresh(current, { revokedAt: 10 }, 1000), { action: 'refuse', why: 'revoked' })
  t.same(
    decideRefresh({ expiresAt: 2000, rotatedAt: 500 }, { revokedAt: 600 }, 1000),
    { action: 'refuse', why: 'revoked' },
    'a family already revoked for reuse stays revoked: nothing more to do',
  )
})
