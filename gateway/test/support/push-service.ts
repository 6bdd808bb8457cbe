import { createDecipheriv, createECDH, createHmac, createPublicKey, randomBytes, verify } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A browser's side of a Web Push subscription: the P-256 key pair and auth secret a
 * `PushManager.subscribe` makes (RFC 8291 §2). The test holds the private key, so what the push
 * service receives can be read only if the server encrypted it for this subscription.
 */
export interface BrowserSubscription {
  id: string
  endpoint: string
  keys: { p256dh: string; auth: string }
  ecdh: ReturnType<typeof createECDH>
  authSecret: Buffer
}

export interface PushRequest {
  subscriptionId: string
  ttl: string | undefined
  urgency: string | undefined
  topic: string | undefined
  /** The decrypted payload, parsed. */
  payload: Record<string, unknown>
  /** When the push service took it (ms since the epoch). */
  receivedAt: number
}

const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest()

/**
 * RFC 8291 + RFC 8188 (aes128gcm) decryption, written from the RFCs with node:crypto only: not
 * the library the server encrypts with, so a passing test means any browser could decrypt it.
 */
export const decryptAes128gcm = (
  body: Buffer,
  ecdh: ReturnType<typeof createECDH>,
  authSecret: Buffer,
): Buffer => {
  const salt = body.subarray(0, 16)
  const rs = body.readUInt32BE(16)
  const idlen = body[20]!
  const asPublic = body.subarray(21, 21 + idlen)
  const ciphertext = body.subarray(21 + idlen)
  if (idlen !== 65) throw new Error(`keyid is not a P-256 public key (${idlen} bytes)`)
  if (ciphertext.length > rs) throw new Error('more than one record: not expected for a notification')
  const uaPublic = ecdh.getPublicKey()
  const ecdhSecret = ecdh.computeSecret(asPublic)
  // RFC 8291 §3.4: IKM from the ECDH secret and the auth secret, bound to both public keys.
  const prkKey = hmac(authSecret, ecdhSecret)
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic, Buffer.from([1])])
  const ikm = hmac(prkKey, keyInfo)
  // RFC 8188 §2.2: content-encryption key and nonce.
  const prk = hmac(salt, ikm)
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01')).subarray(0, 16)
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01')).subarray(0, 12)
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce)
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16))
  const padded = Buffer.concat([
    decipher.update(ciphertext.subarray(0, ciphertext.length - 16)),
    decipher.final(),
  ])
  // The last record ends with the delimiter 0x02, then zero padding.
  let end = padded.length - 1
  while (end >= 0 && padded[end] === 0) end--
  if (padded[end] !== 2) throw new Error('bad padding delimiter')
  return padded.subarray(0, end)
}

/** RFC 8292: `vapid t=<ES256 JWT>, k=<public key>`; the JWT's audience is the push service's origin. */
export const checkVapid = (authorization: string | undefined, origin: string, expectKey: string): void => {
  const m = /^vapid t=([^,]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '')
  if (!m) throw new Error(`no VAPID authorization: ${authorization}`)
  const [, jwt, k] = m
  if (k !== expectKey) throw new Error('VAPID key is not the server’s')
  const [h, p, s] = jwt!.split('.')
  const raw = Buffer.from(k!, 'base64url')
  const key = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: raw.subarray(1, 33).toString('base64url'),
      y: raw.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  })
  const ok = verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(s!, 'base64url'),
  )
  if (!ok) throw new Error('VAPID signature does not verify')
  const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as {
    aud: string
    exp: number
    sub: string
  }
  if (claims.aud !== origin) throw new Error(`VAPID aud ${claims.aud} is not ${origin}`)
  if (claims.exp * 1000 < Date.now() || claims.exp * 1000 > Date.now() + 24 * 3600_000 + 60_000)
    throw new Error('VAPID exp out of range')
  if (!/^(mailto:|https:)/.test(claims.sub)) throw new Error('VAPID sub missing')
}

const body = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

/**
 * A local push service speaking the Web Push protocol (RFC 8030 §5): `POST /push/<id>` with the
 * VAPID Authorization, `Content-Encoding: aes128gcm`, `TTL`, optional `Urgency` and `Topic`;
 * answers 201. Per subscription a test can make it answer 410 (gone), fail with 503 a number of
 * times, or hold requests unanswered. `mailbox` is what the browser would show: a notification
 * with the Topic of an earlier one replaces it (RFC 8030 §5.4), as if the device was offline.
 */
export const startPushService = async (vapidPublicKey: () => string) => {
  const subs = new Map<string, BrowserSubscription>()
  const behaviour = new Map<string, { gone?: boolean; failTimes?: number; hold?: boolean }>()
  const received: PushRequest[] = []
  const refused: string[] = []
  const held: (() => void)[] = []
  let server: Server
  const origin = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  server = createServer((req, res) => {
    void (async () => {
      const id = /^\/push\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1]
      const sub = id ? subs.get(id) : undefined
      const data = await body(req)
      const b = (id && behaviour.get(id)) || {}
      if (!sub || b.gone) {
        res.writeHead(410).end()
        return
      }
      if (b.failTimes && b.failTimes > 0) {
        b.failTimes--
        res.writeHead(503, { 'retry-after': '0' }).end()
        return
      }
      try {
        if (req.method !== 'POST') throw new Error(`method ${req.method}`)
        if (req.headers['content-encoding'] !== 'aes128gcm') throw new Error('not aes128gcm')
        if (req.headers.ttl === undefined) throw new Error('no TTL')
        checkVapid(req.headers.authorization, origin(), vapidPublicKey())
        const payload = JSON.parse(decryptAes128gcm(data, sub.ecdh, sub.authSecret).toString('utf8'))
        received.push({
          subscriptionId: sub.id,
          ttl: req.headers.ttl as string,
          urgency: req.headers.urgency as string | undefined,
          topic: req.headers.topic as string | undefined,
          payload,
          receivedAt: Date.now(),
        })
      } catch (e) {
        refused.push((e as Error).message)
        res.writeHead(400).end()
        return
      }
      if (b.hold) held.push(() => res.writeHead(201).end())
      else res.writeHead(201).end()
    })()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    origin: origin(),
    received,
    refused,
    /** A new subscription, as a browser would make it. */
    subscribe(): BrowserSubscription {
      const id = randomBytes(9).toString('base64url')
      const ecdh = createECDH('prime256v1')
      ecdh.generateKeys()
      const authSecret = randomBytes(16)
      const s = {
        id,
        endpoint: `${origin()}/push/${id}`,
        keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') },
        ecdh,
        authSecret,
      }
      subs.set(id, s)
      return s
    },
    behave(id: string, b: { gone?: boolean; failTimes?: number; hold?: boolean }) {
      behaviour.set(id, b)
    },
    /** Answers the held requests (201), as a push service that was slow. */
    release() {
      for (const f of held.splice(0)) f()
    },
    of: (id: string) => received.filter((r) => r.subscriptionId === id),
    /** What the browser of `id` shows: the latest notification per Topic (or each without one). */
    mailbox(id: string): Record<string, unknown>[] {
      const byTopic = new Map<string, Record<string, unknown>>()
      for (const [i, r] of this.of(id).entries()) byTopic.set(r.topic ?? `#${i}`, r.payload)
      return [...byTopic.values()]
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export type PushService = Awaited<ReturnType<typeof startPushService>>
