import { type ChatEvent, encodeJson, HEADERS, laneOf, type Names } from '@chatapp/contracts'
import type { JetStreamClient } from '@nats-io/jetstream'
import { headers } from '@nats-io/nats-core'

/** Appends an event the way the gateway does: contract JSON, type header, msgID = event id. */
export const append = async (js: JetStreamClient, n: Names, e: ChatEvent): Promise<number> => {
  const h = headers()
  h.set(HEADERS.eventType, e.type)
  const ack = await js.publish(n.convSubject(e.conversationId, laneOf(e.type)), encodeJson(e), {
    msgID: e.id,
    headers: h,
  })
  return ack.seq
}

/** Waits until `check` returns a truthy value, polling; fails after `timeoutMs`. */
export const waitFor = async <T>(
  check: () => Promise<T>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> => {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
