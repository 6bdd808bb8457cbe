import type { Delivery } from './plan.js'
import type { Outcome } from './retry.js'

/**
 * One attempt to hand a notification to its target's service. Never throws for what the remote
 * side did: a refusal, a timeout or a broken connection is an Outcome. Idempotent on the remote
 * side only as far as the notification id (webhook) and the Topic (Web Push) make it.
 */
export interface PushTransport {
  send(d: Delivery): Promise<Outcome>
}
