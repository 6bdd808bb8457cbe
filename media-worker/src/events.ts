import {
  type EventData,
  type EventOf,
  encodeJson,
  HEADERS,
  type MediaJob,
  type Names,
} from '@chatapp/contracts'
import type { JetStreamClient } from '@nats-io/jetstream'
import { headers } from '@nats-io/nats-core'

/**
 * The worker's two events. Their id is also the Nats-Msg-Id, so a redelivered job that already
 * reported (the ack was lost) is stored once. They are appended without an expected sequence:
 * media state needs no decision, and must not fail because a message was sent meanwhile.
 */
export const mediaReadyEvent = (
  job: MediaJob,
  data: EventData<'media.ready'>,
  at: number,
): EventOf<'media.ready'> => ({
  v: 1,
  type: 'media.ready',
  id: `${job.conversationId}:${job.mediaId}:ready`,
  conversationId: job.conversationId,
  actor: 'system',
  at,
  data,
})

export const mediaFailedEvent = (
  job: MediaJob,
  data: Omit<EventData<'media.failed'>, 'mediaId'>,
  at: number,
): EventOf<'media.failed'> => ({
  v: 1,
  type: 'media.failed',
  id: `${job.conversationId}:${job.mediaId}:failed`,
  conversationId: job.conversationId,
  actor: 'system',
  at,
  data: { mediaId: job.mediaId, code: data.code, reason: data.reason.slice(0, 500) },
})

export type MediaEvent = EventOf<'media.ready'> | EventOf<'media.failed'>

export const publishMediaEvent = async (js: JetStreamClient, n: Names, e: MediaEvent): Promise<number> => {
  const h = headers()
  h.set(HEADERS.eventType, e.type)
  const ack = await js.publish(n.convSubject(e.conversationId, 'm'), encodeJson(e), {
    msgID: e.id,
    headers: h,
  })
  return ack.seq
}
