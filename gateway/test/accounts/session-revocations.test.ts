import { ChatError } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { connectNats, createLogger } from '@chatapp/kit'
import t from 'tap'
import { createSessionRevocations } from '../../src/accounts/session-revocations.js'
import { createTokenService, generatePrivateKeyPem } from '../../src/accounts/token-service.js'

const tn = await createTestNamespace({ shards: 1 })
t.teardown(tn.cleanup)
const subject = `${tn.ns}.eph.sessions.revoked`

const waitFor = async (predicate: () => boolean, timeoutMs: number): Promise<void> => {
  const until = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > until) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 10))
  }
}

t.test('a revocation on one gateway reaches the others, once each', async (t) => {
  const nc2 = await connectNats(tn.stack.natsUrl, 'test-gw2', createLogger('test', 'silent'))
  t.teardown(() => nc2.close())
  const a = createSessionRevocations({ nc: tn.nc, subject, retainMs: 60_000 })
  const b = createSessionRevocations({ nc: nc2, subject, retainMs: 60_000 })
  t.teardown(() => {
    a.close()
    b.close()
  })
  const heardA: string[][] = []
  const heardB: string[][] = []
  a.onRevoked((_, ids) => heardA.push(ids))
  b.onRevoked((_, ids) => heardB.push(ids))
  await tn.nc.flush()
  await nc2.flush()

  a.revoked('u_someone1', ['s_one', 's_two'], 'logout-all')
  t.ok(a.isRevoked('s_one'), 'at once on the instance that revoked')
  await waitFor(() => b.isRevoked('s_two'), 5000)
  t.ok(b.isRevoked('s_one'))
  t.notOk(b.isRevoked('s_three'))
  await tn.nc.flush()
  t.same(heardA, [['s_one', 's_two']], 'no echo of its own notice')
  t.same(heardB, [['s_one', 's_two']])
  // Garbage on the subject changes nothing.
  tn.nc.publish(subject, 'not json')
  tn.nc.publish(subject, JSON.stringify({ userId: 1, sessionIds: 'x', origin: 'z' }))
  await tn.nc.flush()
  await nc2.flush()
  t.equal(heardB.length, 1)
})

t.test('forgets a revocation once the tokens it could concern have expired', async (t) => {
  let clock = 1_000_000
  const r = createSessionRevocations({ retainMs: 1000, now: () => clock })
  r.revoked('u_someone1', ['s_old'], 'logout')
  clock += 999
  t.ok(r.isRevoked('s_old'))
  clock += 2
  t.notOk(r.isRevoked('s_old'))
  r.revoked('u_someone1', ['s_new'], 'logout')
  t.notOk(r.isRevoked('s_old'), 'expired entries are dropped when new ones come')
  t.ok(r.isRevoked('s_new'))
})

t.test('the token service refuses a revoked session with UNAUTHENTICATED', async (t) => {
  const r = createSessionRevocations({ retainMs: 60_000 })
  const tokens = await createTokenService({
    privateKeyPem: generatePrivateKeyPem(),
    ttlS: 60,
    isRevoked: r.isRevoked,
  })
  const { accessToken } = await tokens.issue('u_someone1', 'd1', 's_live1')
  t.equal((await tokens.verifyAccessToken(accessToken)).sessionId, 's_live1')
  r.revoked('u_someone1', ['s_live1'], 'logout')
  const err = await tokens.verifyAccessToken(accessToken).catch((e: unknown) => e)
  t.ok(err instanceof ChatError && err.code === 'UNAUTHENTICATED')
})
