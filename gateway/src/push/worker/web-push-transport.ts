import webpush from 'web-push'
import type { VapidKeys } from '../vapid.js'
import { postForOutcome } from './http-post.js'
import type { PushTransport } from './transport.js'

/** A VAPID token lives 12 h (RFC 8292 allows 24) and is renewed an hour before it ends. */
const VAPID_TTL_S = 12 * 3600
const VAPID_RENEW_S = 3600

/**
 * Web Push (RFC 8030) through web-push: the payload encrypted for the subscription (aes128gcm,
 * RFC 8291) and a VAPID JWT signed with our key (RFC 8292), with `TTL`, `Urgency` and `Topic`.
 * web-push only builds the request; the POST is ours (fetch), so timeouts, redirects (refused:
 * a push service does not redirect) and the answer's classification are the same for both kinds.
 * The VAPID header is made once per push service origin and reused until near its expiry: an
 * ES256 signature per notification was the largest CPU cost of a fan-out (docs/benchmarks.md).
 */
export const webPushTransport = (o: {
  vapid: VapidKeys
  ttlS: number
  timeoutMs: number
  now?: () => number
}): PushTransport => {
  const now = o.now ?? Date.now
  const vapidHeaders = new Map<string, { authorization: string; until: number }>()
  const authorization = (endpoint: string): string => {
    const audience = new URL(endpoint).origin
    const s = Math.floor(now() / 1000)
    const hit = vapidHeaders.get(audience)
    if (hit && hit.until > s + VAPID_RENEW_S) return hit.authorization
    const h = webpush.getVapidHeaders(
      audience,
      o.vapid.subject,
      o.vapid.publicKey,
      o.vapid.privateKey,
      'aes128gcm',
      s + VAPID_TTL_S,
    )
    // Bounded by the operator's list of push service origins, but a map must not grow for ever.
    if (vapidHeaders.size > 1000) vapidHeaders.clear()
    vapidHeaders.set(audience, { authorization: h.Authorization, until: s + VAPID_TTL_S })
    return h.Authorization
  }
  return {
    async send(d) {
      const t = d.target
      const req = webpush.generateRequestDetails(
        { endpoint: t.endpoint, keys: { p256dh: t.p256dh ?? '', auth: t.auth ?? '' } },
        JSON.stringify(d.notification),
        {
          TTL: o.ttlS,
          urgency: d.urgency,
          topic: d.topic,
          contentEncoding: 'aes128gcm',
          headers: { Authorization: authorization(t.endpoint) },
        },
      )
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(req.headers)) headers[k] = String(v)
      return postForOutcome(req.endpoint, headers, req.body ?? new Uint8Array(), o.timeoutMs)
    },
  }
}
