import type { TokenPair } from '@chatapp/contracts'
import t from 'tap'
import { ChatClientError } from '../src/errors.js'
import { tokenSession } from '../src/token-session.js'

const pair = (n: number, accessExpiresAt: number): TokenPair => ({
  userId: 'u_alice0001',
  deviceId: 'phone',
  accessToken: `a${n}`,
  accessExpiresAt,
  refreshToken: `r${n}`,
  refreshExpiresAt: accessExpiresAt + 1_000_000,
})

const fakeApi = () => {
  const used: string[] = []
  let n = 1
  return {
    used,
    refresh: async (refreshToken: string) => {
      used.push(refreshToken)
      n += 1
      return pair(n, 1_000_000)
    },
  }
}

t.test('returns the current token while it is fresh', async (t) => {
  const api = fakeApi()
  const s = tokenSession(api, pair(1, 100_000), { now: () => 0 })
  t.equal(await s.tokenProvider({ forceRefresh: false }), 'a1')
  t.same(api.used, [])
})

t.test('refreshes when forced and when the token is about to expire', async (t) => {
  const api = fakeApi()
  const rotated: string[] = []
  let clock = 0
  const s = tokenSession(api, pair(1, 40_000), {
    now: () => clock,
    skewMs: 30_000,
    onRotate: (p) => rotated.push(p.refreshToken),
  })
  t.equal(await s.tokenProvider({ forceRefresh: false }), 'a1')
  clock = 15_000 // within 30 s of expiry
  t.equal(await s.tokenProvider({ forceRefresh: false }), 'a2')
  t.equal(await s.tokenProvider({ forceRefresh: true }), 'a3')
  t.same(api.used, ['r1', 'r2'], 'each refresh uses the latest refresh token')
  t.same(rotated, ['r2', 'r3'])
  t.equal(s.current().accessToken, 'a3')
})

t.test('concurrent callers share one refresh (a refresh token works once)', async (t) => {
  const api = fakeApi()
  const s = tokenSession(api, pair(1, 0), { now: () => 0 })
  const tokens = await Promise.all([1, 2, 3].map(() => s.tokenProvider({ forceRefresh: true })))
  t.same(tokens, ['a2', 'a2', 'a2'])
  t.same(api.used, ['r1'])
})

t.test('a refused refresh rejects with the server error, and a later call tries again', async (t) => {
  let fail = true
  const s = tokenSession(
    {
      refresh: async () => {
        if (fail) throw new ChatClientError('INVALID_REFRESH_TOKEN')
        return pair(9, 1_000_000)
      },
    },
    pair(1, 0),
    { now: () => 0 },
  )
  await t.rejects(s.tokenProvider({ forceRefresh: true }), {
    code: 'INVALID_REFRESH_TOKEN',
    retryable: false,
  })
  fail = false
  t.equal(await s.tokenProvider({ forceRefresh: true }), 'a9')
})
