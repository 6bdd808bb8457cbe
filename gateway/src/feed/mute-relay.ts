import { muteSignalDecoder, type Names } from '@chatapp/contracts'
import type { NatsConnection } from '@chatapp/kit'
import type { Subscriber } from './subscriber.js'

/**
 * A user's mute changes, told to their devices connected to this gateway as `mute` frames (ADR
 * 0192). Mutes are rare: one subscription per gateway follows every user's changes (like
 * invitation notices), not one per user. Core NATS: a device offline now reads its mutes with
 * `GET /v1/users/me/mutes` when it comes back.
 */
export const startMuteRelay = (
  nc: NatsConnection,
  n: Names,
  devicesOf: (userId: string) => Iterable<Subscriber>,
): { close(): void } => {
  const sub = nc.subscribe(n.mutesAll, {
    callback: (err, msg) => {
      if (err) return
      const d = muteSignalDecoder.decode(msg.data)
      if (!d.ok) return
      const { userId, conversationId, muted, until } = d.value
      const text = JSON.stringify({ type: 'mute', conversationId, muted, until })
      for (const s of devicesOf(userId)) if (s.synced) s.sendRaw(text)
    },
  })
  return { close: () => sub.unsubscribe() }
}
