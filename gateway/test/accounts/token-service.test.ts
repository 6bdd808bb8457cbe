import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChatError } from '@chatapp/contracts'
import { UnsecuredJWT } from 'jose'
import t, { type Test } from 'tap'
import { createTokenService, generatePrivateKeyPem } from '../../src/accounts/token-service.js'

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p
    return 'resolved'
  } catch (e) {
    return e instanceof ChatError ? e.code : `not a ChatError: ${String(e)}`
  }
}

const tmpDir = async (t: Test): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'chatapp-keys-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('issues a token that verifies to the same user, device and session', async (t) => {
  const svc = await createTokenService({ privateKeyPem: generatePrivateKeyPem(), ttlS: 900 })
  const before = Date.now()
  const { accessToken, expiresAt } = await svc.issue('u_abcdefgh', 'phone-1', 's_session1')
  t.ok(expiresAt >= Math.floor(before / 1000) * 1000 + 900_000 && expiresAt <= Date.now() + 900_000)
  const p = await svc.verifyAccessToken(accessToken)
  t.same(p, { userId: 'u_abcdefgh', deviceId: 'phone-1', sessionId: 's_session1', expiresAt })
  const header = JSON.parse(Buffer.from(accessToken.split('.')[0]!, 'base64url').toString())
  t.same(header, { alg: 'EdDSA', typ: 'JWT', kid: svc.keyId })
})

t.test('refuses an expired token with TOKEN_EXPIRED, after the clock tolerance only', async (t) => {
  let clock = 1_700_000_000_000
  const svc = await createTokenService({
    privateKeyPem: generatePrivateKeyPem(),
    ttlS: 60,
    clockToleranceS: 5,
    now: () => clock,
  })
  const { accessToken, expiresAt } = await svc.issue('u_abcdefgh', 'd1', 's_1234567')
  clock = expiresAt + 4_000
  t.equal((await svc.verifyAccessToken(accessToken)).userId, 'u_abcdefgh', 'inside the tolerance')
  clock = expiresAt + 6_000
  t.equal(await codeOf(svc.verifyAccessToken(accessToken)), 'TOKEN_EXPIRED')
})

t.test('refuses garbage, tampered, foreign-key and unsigned tokens with UNAUTHENTICATED', async (t) => {
  const pem = generatePrivateKeyPem()
  const svc = await createTokenService({ privateKeyPem: pem, ttlS: 60 })
  const other = await createTokenService({ privateKeyPem: generatePrivateKeyPem(), ttlS: 60 })
  const { accessToken } = await svc.issue('u_abcdefgh', 'd1', 's_1234567')
  const [h, p, s] = accessToken.split('.') as [string, string, string]
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString())
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'u_attacker1' })).toString('base64url')}.${s}`
  const unsigned = new UnsecuredJWT({ did: 'd1' })
    .setIssuer('chatapp')
    .setAudience('chatapp')
    .setSubject('u_abcdefgh')
    .setJti('s_1')
    .setIssuedAt()
    .setExpirationTime('1h')
    .encode()
  for (const [name, token] of [
    ['empty', ''],
    ['garbage', 'not.a.jwt'],
    ['oversize', 'a'.repeat(5000)],
    ['tampered claims', forged],
    ['another key', (await other.issue('u_abcdefgh', 'd1', 's_1234567')).accessToken],
    ['alg none', unsigned],
  ] as const) {
    t.equal(await codeOf(svc.verifyAccessToken(token)), 'UNAUTHENTICATED', name)
  }
  // An expired token from a foreign key is not "expired": its signature is checked first.
  let clock = Date.now()
  const foreign = await createTokenService({
    privateKeyPem: generatePrivateKeyPem(),
    ttlS: 1,
    now: () => clock,
  })
  const old = (await foreign.issue('u_abcdefgh', 'd1', 's_1')).accessToken
  clock += 3_600_000
  t.equal(await codeOf(svc.verifyAccessToken(old)), 'UNAUTHENTICATED', 'expired and foreign')
})

t.test('checks issuer and audience', async (t) => {
  const pem = generatePrivateKeyPem()
  const a = await createTokenService({ privateKeyPem: pem, ttlS: 60, issuer: 'gw-a' })
  const b = await createTokenService({ privateKeyPem: pem, ttlS: 60, issuer: 'gw-b' })
  const c = await createTokenService({ privateKeyPem: pem, ttlS: 60, issuer: 'gw-a', audience: 'other' })
  const token = (await a.issue('u_abcdefgh', 'd1', 's_1234567')).accessToken
  t.equal(await codeOf(b.verifyAccessToken(token)), 'UNAUTHENTICATED', 'issuer')
  t.equal(await codeOf(c.verifyAccessToken(token)), 'UNAUTHENTICATED', 'audience')
  t.equal(await codeOf(a.verifyAccessToken(token)), 'resolved')
})

t.test('creates the key file (0600) once, and instances sharing it verify each other', async (t) => {
  const keyFile = join(await tmpDir(t), 'nested', 'keys', 'jwt.pem')
  // Several instances start at the same moment: all must end up with the one key on disk.
  const services = await Promise.all(
    Array.from({ length: 4 }, () => createTokenService({ keyFile, ttlS: 60 })),
  )
  t.equal((await stat(keyFile)).mode & 0o777, 0o600)
  t.match(await readFile(keyFile, 'utf8'), /^-----BEGIN PRIVATE KEY-----/)
  t.equal(new Set(services.map((s) => s.keyId)).size, 1, 'one key')
  const token = (await services[0]!.issue('u_abcdefgh', 'd1', 's_1234567')).accessToken
  for (const s of services) t.equal((await s.verifyAccessToken(token)).userId, 'u_abcdefgh')
  const later = await createTokenService({ keyFile, ttlS: 60 })
  t.equal(later.keyId, services[0]!.keyId, 'an existing file is reused')
})

t.test('refuses a key that is not Ed25519, and a bad TTL', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString()
  await t.rejects(createTokenService({ privateKeyPem: rsa, ttlS: 60 }), /must be Ed25519/)
  await t.rejects(createTokenService({ privateKeyPem: generatePrivateKeyPem(), ttlS: 0 }), /positive integer/)
  await t.rejects(createTokenService({ ttlS: 60 }), /privateKeyPem or keyFile/)
})

t.test(
  'a token presented again is answered without a second signature check, and still expires and is revoked on time',
  async (t) => {
    let clock = 1_700_000_000_000
    let revoked = false
    const svc = await createTokenService({
      privateKeyPem: generatePrivateKeyPem(),
      ttlS: 60,
      clockToleranceS: 5,
      now: () => clock,
      isRevoked: () => revoked,
    })
    const { accessToken, expiresAt } = await svc.issue('u_abcdefgh', 'd1', 's_1234567')
    const first = await svc.verifyAccessToken(accessToken)
    const again = await svc.verifyAccessToken(accessToken)
    t.same(again, first, 'the same principal')
    t.equal(svc.signatureChecks(), 1, 'one signature check for two verifications (a reconnect)')
    again.userId = 'u_mutated'
    t.equal((await svc.verifyAccessToken(accessToken)).userId, 'u_abcdefgh', 'callers get a copy')

    // A different string (one character changed in the signature) is never a hit.
    const sig = accessToken.slice(accessToken.lastIndexOf('.') + 1)
    const flipped = `${accessToken.slice(0, accessToken.lastIndexOf('.') + 1)}${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`
    t.equal(await codeOf(svc.verifyAccessToken(flipped)), 'UNAUTHENTICATED')

    revoked = true
    t.equal(
      await codeOf(svc.verifyAccessToken(accessToken)),
      'UNAUTHENTICATED',
      'revoked after it was cached',
    )
    revoked = false
    clock = expiresAt + 4_000
    t.equal((await svc.verifyAccessToken(accessToken)).userId, 'u_abcdefgh', 'inside the tolerance')
    clock = expiresAt + 6_000
    t.equal(await codeOf(svc.verifyAccessToken(accessToken)), 'TOKEN_EXPIRED', 'expired after it was cached')
  },
)

t.test('the cache of verified tokens is bounded: the oldest is checked again', async (t) => {
  const svc = await createTokenService({
    privateKeyPem: generatePrivateKeyPem(),
    ttlS: 900,
    verifiedCacheSize: 2,
  })
  const tokens = await Promise.all(
    ['s_0000001', 's_0000002', 's_0000003'].map((s) => svc.issue('u_abcdefgh', 'd', s)),
  )
  for (const x of tokens) await svc.verifyAccessToken(x.accessToken)
  t.equal(svc.signatureChecks(), 3)
  await svc.verifyAccessToken(tokens[2]!.accessToken)
  t.equal(svc.signatureChecks(), 3, 'the newest is remembered')
  await svc.verifyAccessToken(tokens[0]!.accessToken)
  t.equal(svc.signatureChecks(), 4, 'the oldest was let go')
})
