import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto'
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ChatError } from '@chatapp/contracts'
import { calculateJwkThumbprint, errors, exportJWK, jwtVerify, SignJWT } from 'jose'
import type { Principal, TokenVerifier } from '../ports.js'

/**
 * Access tokens: EdDSA (Ed25519) JWTs, short-lived, verified without any I/O, so a WebSocket
 * upgrade or an HTTP request costs one signature check. Every gateway instance that shares the
 * private key file verifies the others' tokens (see docs/adr/0011-access-and-refresh-tokens.md).
 *
 * Claims: iss, aud, sub = userId, did = deviceId, jti = sessionId (the refresh-token family), iat,
 * exp. Revocation is by expiry: logout revokes the refresh family at once, and the access token
 * dies within its TTL.
 */
export interface IssuedAccessToken {
  accessToken: string
  /** Milliseconds since the epoch. */
  expiresAt: number
}

export interface TokenService extends TokenVerifier {
  issue(userId: string, deviceId: string, sessionId: string): Promise<IssuedAccessToken>
  readonly ttlS: number
  /** `kid` of the signing key (RFC 7638 thumbprint), set in every token header. */
  readonly keyId: string
  /** Tokens whose signature was checked (not answered from the cache of verified tokens). */
  signatureChecks(): number
}

export interface TokenServiceOptions {
  /** PKCS#8 PEM of an Ed25519 private key; or `keyFile`, read (and created when missing). */
  privateKeyPem?: string
  keyFile?: string
  ttlS: number
  issuer?: string
  audience?: string
  /** Accepted clock difference between gateway instances, seconds. */
  clockToleranceS?: number
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number
  /** Sessions logged out before their tokens expire (see session-revocations.ts). */
  isRevoked?: (sessionId: string) => boolean
  /** Verified tokens remembered (their claims), so a reconnect skips the signature check. Default 50,000; 0: none. */
  verifiedCacheSize?: number
}

export const DEFAULT_ISSUER = 'chatapp'
export const DEFAULT_AUDIENCE = 'chatapp'
const DEFAULT_CLOCK_TOLERANCE_S = 5
/** Far above any token we issue (~300 bytes); bounds the work an attacker can make us do. */
const MAX_TOKEN_CHARS = 4096
const DEFAULT_VERIFIED_CACHE = 50_000

export const generatePrivateKeyPem = (): string =>
  generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()

/**
 * Reads the key file, creating it (mode 0600, directory 0700) when it does not exist. Creation
 * writes a temporary file and hard-links it into place, which fails when the file already
 * exists: two gateways starting at once end up with the same key, never two.
 */
export const loadOrCreateKeyFile = async (
  path: string,
  generate: () => string = generatePrivateKeyPem,
): Promise<string> => {
  try {
    return await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  await writeFile(tmp, generate(), { mode: 0o600, flag: 'wx' })
  try {
    await link(tmp, path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
  } finally {
    await unlink(tmp)
  }
  return readFile(path, 'utf8')
}

const parsePrivateKey = (pem: string): KeyObject => {
  const key = createPrivateKey({ key: pem, format: 'pem' })
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`the JWT signing key must be Ed25519, found ${key.asymmetricKeyType ?? 'unknown'}`)
  }
  return key
}

const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0

export const createTokenService = async (o: TokenServiceOptions): Promise<TokenService> => {
  if (!Number.isInteger(o.ttlS) || o.ttlS < 1)
    throw new Error(`token TTL ${o.ttlS} must be a positive integer`)
  const pem = o.privateKeyPem ?? (o.keyFile ? await loadOrCreateKeyFile(o.keyFile) : undefined)
  if (pem === undefined) throw new Error('createTokenService needs privateKeyPem or keyFile')
  const privateKey = parsePrivateKey(pem)
  const publicKey = createPublicKey(privateKey)
  const keyId = await calculateJwkThumbprint(await exportJWK(publicKey))
  const issuer = o.issuer ?? DEFAULT_ISSUER
  const audience = o.audience ?? DEFAULT_AUDIENCE
  const clockTolerance = o.clockToleranceS ?? DEFAULT_CLOCK_TOLERANCE_S
  const now = o.now ?? Date.now
  /**
   * Tokens verified before → their principal. A device reconnecting (a network change, a gateway
   * restart, a reconnect storm) presents the token it connected with; the Ed25519 check was 11 %
   * of the gateway's CPU in the reconnect storm (docs/benchmarks.md, ADR 0176). Keyed by the
   * whole token string, so a hit is exactly what was verified.
   */
  const verified = new Map<string, Principal>()
  const cacheSize = o.verifiedCacheSize ?? DEFAULT_VERIFIED_CACHE
  let checks = 0

  return {
    ttlS: o.ttlS,
    keyId,
    async issue(userId, deviceId, sessionId) {
      const iat = Math.floor(now() / 1000)
      const exp = iat + o.ttlS
      const accessToken = await new SignJWT({ did: deviceId })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: keyId })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(userId)
        .setJti(sessionId)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(privateKey)
      return { accessToken, expiresAt: exp * 1000 }
    },
    signatureChecks: () => checks,
    async verifyAccessToken(token) {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS) {
        throw new ChatError('UNAUTHENTICATED')
      }
      const known = verified.get(token)
      if (known) {
        // The same string was verified before, so its signature and claims are those checked
        // then; what can change since is time and revocation, checked here as jose checks them.
        if (known.expiresAt / 1000 <= Math.floor(now() / 1000) - clockTolerance) {
          verified.delete(token)
          throw new ChatError('TOKEN_EXPIRED')
        }
        if (o.isRevoked?.(known.sessionId))
          throw new ChatError('UNAUTHENTICATED', 'The session was logged out.')
        return { ...known }
      }
      checks++
      let payload: Awaited<ReturnType<typeof jwtVerify>>['payload']
      try {
        // The signature is checked before the claims, so only a genuine token can be "expired".
        ;({ payload } = await jwtVerify(token, publicKey, {
          algorithms: ['EdDSA'],
          issuer,
          audience,
          clockTolerance,
          requiredClaims: ['sub', 'jti', 'exp', 'iat'],
          currentDate: new Date(now()),
        }))
      } catch (e) {
        if (e instanceof errors.JWTExpired) throw new ChatError('TOKEN_EXPIRED', undefined, { cause: e })
        throw new ChatError('UNAUTHENTICATED', undefined, { cause: e })
      }
      const { sub, did, jti, exp } = payload
      if (!isNonEmptyString(sub) || !isNonEmptyString(did) || !isNonEmptyString(jti) || exp === undefined) {
        throw new ChatError('UNAUTHENTICATED', 'the token lacks a required claim')
      }
      if (o.isRevoked?.(jti)) throw new ChatError('UNAUTHENTICATED', 'The session was logged out.')
      const principal = {
        userId: sub,
        deviceId: did,
        sessionId: jti,
        expiresAt: exp * 1000,
      } satisfies Principal
      if (cacheSize > 0) {
        // Oldest first out: a Map keeps insertion order.
        if (verified.size >= cacheSize) verified.delete(verified.keys().next().value as string)
        verified.set(token, principal)
      }
      return { ...principal }
    },
  }
}
