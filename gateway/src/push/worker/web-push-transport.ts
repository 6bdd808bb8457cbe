import webpush from 'web-push'
import type { VapidKeys } from '../vapid.js'
import { postForOutcome } from './http-post.js'
import type { PushTransport } from './transport.js'

/**
 * Web Push (RFC 8030) through web-push: the payload encrypted for the subscription (aes128gcm,
 * RFC 8291) and a VAPID JWT signed with our key (RFC 8292), with `TTL`, `Urgency` and `Topic`.
 * web-push only builds the request; the POST is ours (fetch), so timeouts, redirects (refused:
 * a push service does not redirect) and the answer's classification are the same for both kinds.
 */
export const webPushTransport = (o: {
  vapid: VapidKeys
  ttlS: number
  timeoutMs: number
}): PushTransport => ({
  async send(d) {
    const t = d.target
    const req = webpush.generateRequestDetails(
      { endpoint: t.endpoint, keys: { p256dh: t.p256dh ?? '', auth: t.auth ?? '' } },
      JSON.stringify(d.notification),
      {
        vapidDetails: {
          subject: o.vapid.subject,
          publicKey: o.vapid.publicKey,
          privateKey: o.vapid.privateKey,
        },
        TTL: o.ttlS,
        urgency: d.urgency,
        topic: d.topic,
        contentEncoding: 'aes128gcm',
      },
    )
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(req.headers)) headers[k] = String(v)
    return postForOutcome(req.endpoint, headers, req.body ?? new Uint8Array(), o.timeoutMs)
  },
})
