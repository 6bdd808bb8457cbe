/**
 * The projector's view tables, shared by the projector (which writes them) and the gateway (which
 * reads them), so neither spells a table name the other does not know. They live in the
 * PostgreSQL schema `names(ns, shards).dbSchemas.views`. Columns are documented in
 * projector/src/migrations and docs/query-plans.md; adding a column is additive, renaming one is a
 * new migration and a new name here.
 */
export const VIEW_TABLES = {
  conversations: 'conversations',
  members: 'members',
  /** Pending and declined invitations to groups (the projector's, to judge invitation events). */
  invitations: 'invitations',
  /** Pending and denied join requests through invite links that need approval (ADR 0217). */
  join_requests: 'join_requests',
  messages: 'messages',
  /** One reaction per member per message. */
  reactions: 'reactions',
  /** Who each message mentions: the inbox's unread mentions. */
  mentions: 'mentions',
  /** Delete for me: messages a user hid from their own reads. */
  hidden_messages: 'hidden_messages',
  media: 'media',
  offsets: 'projector_offsets',
  deadLetters: 'dead_letters',
} as const

/** The views an operator can rebuild on their own (`rebuild --view NAME`). */
export const VIEW_NAMES = [
  'conversations',
  'members',
  'invitations',
  'join_requests',
  'messages',
  'reactions',
  'mentions',
  'hidden_messages',
  'media',
] as const
export type ViewName = (typeof VIEW_NAMES)[number]

export const isViewName = (s: string): s is ViewName => (VIEW_NAMES as readonly string[]).includes(s)
