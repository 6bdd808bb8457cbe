import { createHmac } from 'node:crypto'
import { WEBHOOK_SIGNATURE_HEADER } from '@chatapp/contracts'
import { postForOutcome } from './http-post.js'
import type { PushTransport } from './transport.js'

/**
 * The signature of a webhook request: HMAC-SHA256 with the target's secret over
 * `<timestamp ms>.<body>`, as `t=<timestamp>,v1=<hex>`. The timestamp lets a relay refuse a
 * replayed request (docs/protocol.md shows the check).
 */
export const signWebhook = (secret: string, timestamp: number, body: string): string =>
  `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`

/** A mobile push relay (an FCM/APNs bridge): the notification as JSON, signed. */
export const webhookTransport = (o: { timeoutMs: number; now?: () => number }): PushTransport => ({
  async send(d) {
    const now = o.now ?? Date.now
    const body = JSON.stringify({ ...d.notification, targetId: d.target.id })
    return postForOutcome(
      d.target.endpoint,
      {
        'content-type': 'application/json',
        'chatapp-push-id': d.notification.id,
        [WEBHOOK_SIGNATURE_HEADER.toLowerCase()]: signWebhook(d.target.secret ?? '', now(), body),
      },
      body,
      o.timeoutMs,
    )
  },
})
