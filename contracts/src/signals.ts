import { type Static, Type } from '@sinclair/typebox'
import { DeviceId, Millis, UserId } from './ids.js'

/**
 * Payloads that travel between services on core NATS or KV, outside the conversation log. They
 * are decoded like any other input (a peer may run another version, or a hostile publisher may
 * have access to the subject), never cast.
 */

export const TypingSignal = Type.Object(
  { userId: UserId, active: Type.Boolean() },
  { $id: 'TypingSignal', description: 'A member is (or stopped) typing in a conversation (core NATS).' },
)
export type TypingSignal = Static<typeof TypingSignal>

export const PresenceValue = Type.Object(
  {
    online: Type.Boolean(),
    lastSeen: Type.Union([Millis, Type.Null()]),
    devices: Type.Optional(
      Type.Array(DeviceId, {
        maxItems: 10_000,
        description: 'The devices of the user with a live socket on this gateway (the push worker reads it).',
      }),
    ),
  },
  {
    $id: 'PresenceValue',
    description: "One gateway's view of a user in the presence bucket (key `<userId>.<gatewayId>`).",
  },
)
export type PresenceValue = Static<typeof PresenceValue>

export const RevocationReason = Type.Union([
  Type.Literal('logout'),
  Type.Literal('logout-all'),
  Type.Literal('reuse'),
  Type.Literal('replaced'),
])
export type RevocationReason = Static<typeof RevocationReason>

export const SessionRevocation = Type.Object(
  {
    userId: UserId,
    sessionIds: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 1000 }),
    reason: RevocationReason,
    /** The instance that published it: it recorded the revocation already and skips its own echo. */
    origin: Type.String({ maxLength: 64 }),
  },
  {
    $id: 'SessionRevocation',
    description:
      'Sessions ended (logout, refresh-token reuse): every gateway closes their sockets with 4403.',
  },
)
export type SessionRevocation = Static<typeof SessionRevocation>
