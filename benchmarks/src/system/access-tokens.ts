import { createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'

/**
 * Access tokens for benchmark devices, signed with the run's own JWT key (the gateways of the run
 * verify with the same key file): what a device holds when it reconnects. Registering and logging
 * in thousands of users costs argon2id time on the gateway (~25 logins/s here), which is not part
 * of a reconnect or of holding a connection; so the `connections` and storm scenarios mint their
 * tokens and never touch the accounts. The claims are those of ADR 0011 (EdDSA; iss, aud, sub =
 * userId, did = deviceId, jti = sessionId, iat, exp).
 */
export const newSigningKeyPem = (): string =>
  generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()

const b64url = (x: object) => Buffer.from(JSON.stringify(x)).toString('base64url')

export interface Device {
  userId: string
  deviceId: string
  sessionId: string
}

export class TokenMinter {
  private readonly key: KeyObject

  constructor(
    privateKeyPem: string,
    private readonly ttlS = 4 * 3600,
    private readonly issuer = 'chatapp',
    private readonly audience = 'chatapp',
  ) {
    this.key = createPrivateKey(privateKeyPem)
  }

  mint(d: Device, nowS = Math.floor(Date.now() / 1000)): string {
    const head = b64url({ alg: 'EdDSA', typ: 'JWT' })
    const body = b64url({
      did: d.deviceId,
      iss: this.issuer,
      aud: this.audience,
      sub: d.userId,
      jti: d.sessionId,
      iat: nowS,
      exp: nowS + this.ttlS,
    })
    const input = `${head}.${body}`
    return `${input}.${sign(null, Buffer.from(input), this.key).toString('base64url')}`
  }
}
