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
    description:
      "One gateway's view of a user: online with the devices that have a socket there, or offline since `lastSeen`.",
  },
)
export type PresenceValue = Static<typeof PresenceValue>

/** A gateway's id: random per process, so a restarted gateway is a new one (ADR 0174). */
export const GatewayId = Type.String({
  pattern: '^[A-Za-z0-9]{1,32}$',
  description: "A gateway process's id.",
})

/** How many users one presence query may name (a `presence.subscribe` names at most 256). */
export const PRESENCE_QUERY_MAX_USERS = 1_000

export const PresenceQuery = Type.Object(
  { users: Type.Array(UserId, { maxItems: PRESENCE_QUERY_MAX_USERS }) },
  {
    $id: 'PresenceQuery',
    description:
      'Asks every gateway what it holds of these users (core NATS request to `<ns>.eph.presence.query`; every gateway answers).',
  },
)
export type PresenceQuery = Static<typeof PresenceQuery>

export const PresenceAnswer = Type.Object(
  {
    gateway: GatewayId,
    seq: Type.Integer({ minimum: 0, description: 'The last presence change this gateway published.' }),
    users: Type.Record(UserId, PresenceValue, {
      description: 'Only the users the gateway holds: online there, or offline there since `lastSeen`.',
    }),
  },
  { $id: 'PresenceAnswer', description: "One gateway's answer to a presence query." },
)
export type PresenceAnswer = Static<typeof PresenceAnswer>

export const PresenceChange = Type.Object(
  {
    gateway: GatewayId,
    seq: Type.Integer({
      minimum: 1,
      description: 'Counts the gateway’s changes from 1: a receiver that sees a gap asks again.',
    }),
    userId: UserId,
    value: PresenceValue,
  },
  {
    $id: 'PresenceChange',
    description:
      'A user came online on a gateway, changed devices there or left it (core NATS, `<ns>.eph.presence.changes`).',
  },
)
export type PresenceChange = Static<typeof PresenceChange>

export const GatewayRosterEntry = Type.Object(
  {
    seq: Type.Integer({ minimum: 0, description: 'The last presence change the gateway published.' }),
    refreshMs: Type.Integer({
      minimum: 1,
      description:
        'How often the gateway rewrites this entry: readers call it gone after three missed rewrites.',
    }),
  },
  {
    $id: 'GatewayRosterEntry',
    description:
      'A live gateway, in the presence bucket under `gateways.<gatewayId>`: who answers presence queries.',
  },
)
export type GatewayRosterEntry = Static<typeof GatewayRosterEntry>

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
