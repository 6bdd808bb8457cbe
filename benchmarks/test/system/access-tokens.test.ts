import { createPublicKey, verify } from 'node:crypto'
import t from 'tap'
import { newSigningKeyPem, TokenMinter } from '../../src/system/access-tokens.js'

t.test('mints an EdDSA JWT with the claims of ADR 0011, verifiable with the public key', async (t) => {
  const pem = newSigningKeyPem()
  const token = new TokenMinter(pem, 600).mint({ userId: 'u_abcdef', deviceId: 'd1', sessionId: 's_1' }, 1000)
  const [head, body, sig] = token.split('.')
  t.same(JSON.parse(Buffer.from(head!, 'base64url').toString()), { alg: 'EdDSA', typ: 'JWT' })
  t.same(JSON.parse(Buffer.from(body!, 'base64url').toString()), {
    did: 'd1',
    iss: 'chatapp',
    aud: 'chatapp',
    sub: 'u_abcdef',
    jti: 's_1',
    iat: 1000,
    exp: 1600,
  })
  const ok = verify(
    null,
    Buffer.from(`${head}.${body}`),
    createPublicKey(pem),
    Buffer.from(sig!, 'base64url'),
  )
  t.ok(ok, 'the signature verifies')
})
