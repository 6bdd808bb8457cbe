import { createHash } from 'node:crypto'

const hashed = (prefix: 'c_' | 'd_', key: string) =>
  `${prefix}${createHash('sha256').update(key).digest('base64url').slice(0, 32)}`

/**
 * The id of the direct conversation of two users: the same whoever asks and however often, so
 * "open" needs no lookup table — the first append (expecting an empty subject) creates it and
 * every later one finds it.
 */
export const directConversationId = (a: string, b: string): string => {
  const [x, y] = a < b ? [a, b] : [b, a]
  return hashed('d_', `${x}:${y}`)
}

/**
 * The id of the group `creator` creates with `clientGroupId`: a retried create names the same
 * group, so it finds it instead of making a second one. Nobody else can produce it (it hashes the
 * creator's id), and `:` separates the two because neither contains one.
 */
export const groupConversationId = (creator: string, clientGroupId: string): string =>
  hashed('c_', `group:${creator}:${clientGroupId}`)
