import { type Static, Type } from '@sinclair/typebox'

// Ids become NATS subject tokens, S3 key parts and SQL values, so they are restricted to a
// character set that is safe in all three (no dots, wildcards, slashes or whitespace).
const token = (prefix: string, description: string) =>
  Type.String({ pattern: `^${prefix}[A-Za-z0-9_-]{6,60}$`, description })

export const UserId = token('u_', 'A user id, assigned at registration.')
export type UserId = Static<typeof UserId>

export const ConversationId = Type.String({
  pattern: '^[cd]_[A-Za-z0-9_-]{6,60}$',
  description: 'A conversation id: `d_…` for a direct (1:1) conversation, `c_…` for a group.',
})
export type ConversationId = Static<typeof ConversationId>

export const MediaId = token('m_', 'A media id, returned by the upload endpoint.')
export type MediaId = Static<typeof MediaId>

export const DeviceId = Type.String({
  pattern: '^[A-Za-z0-9_-]{1,64}$',
  description: 'A device id chosen by the client at login; one user may have several devices.',
})
export type DeviceId = Static<typeof DeviceId>

export const ClientMsgId = Type.String({
  pattern: '^[A-Za-z0-9_-]{8,64}$',
  description: 'Chosen by the client for every send; a retried send reuses it and is stored once.',
})
export type ClientMsgId = Static<typeof ClientMsgId>

export const RequestId = Type.String({
  maxLength: 64,
  minLength: 1,
  description: 'Chosen by the client; echoed on the reply to that frame.',
})

export const Seq = Type.Integer({
  minimum: 0,
  description: 'A stream sequence: the conversation cursor. Monotonic within a conversation, not dense.',
})

export const Millis = Type.Integer({ minimum: 0, description: 'Milliseconds since the Unix epoch.' })
