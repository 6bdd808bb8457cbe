import { createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { loadOrCreateKeyFile } from '../accounts/token-service.js'

/** VAPID (RFC 8292) keys as web-push takes them: raw P-256 keys, base64url. */
export interface VapidKeys {
  /** Uncompressed point (65 bytes): the browser's `applicationServerKey`. */
  publicKey: string
  /** The private scalar (32 bytes). */
  privateKey: string
  /** `mailto:` or `https:` contact the push services may use (RFC 8292 §2.1). */
  subject: string
}

export const generateVapidPem = (): string =>
  generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string

export const vapidKeysFromPem = (pem: string, subject: string): VapidKeys => {
  const key = createPrivateKey({ key: pem, format: 'pem' })
  const jwk = key.export({ format: 'jwk' })
  if (key.asymmetricKeyType !== 'ec' || jwk.crv !== 'P-256' || !jwk.d || !jwk.x || !jwk.y)
    throw new Error('the VAPID key must be an EC P-256 private key (PKCS#8 PEM)')
  if (!/^(mailto:|https:\/\/)/.test(subject))
    throw new Error(`PUSH_VAPID_SUBJECT must be a mailto: or https: URL`)
  const raw = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x, 'base64url'),
    Buffer.from(jwk.y, 'base64url'),
  ])
  return { publicKey: raw.toString('base64url'), privateKey: jwk.d, subject }
}

/**
 * The VAPID key pair from `path`, created there on first start like the JWT key (atomically: the
 * gateway, which tells browsers the public key, and the push worker, which signs with the private
 * one, may start at the same moment). Every gateway and worker of a deployment must share it.
 */
export const loadOrCreateVapidKeys = async (path: string, subject: string): Promise<VapidKeys> =>
  vapidKeysFromPem(await loadOrCreateKeyFile(path, generateVapidPem), subject)
