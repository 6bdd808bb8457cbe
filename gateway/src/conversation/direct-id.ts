import { createHash } from 'node:crypto'

/**
 * The id of the direct conversation of two users: the same whoever asks and however often, so
 * "open" needs no lookup table — the first append (expecting an empty subject) creates it and
 * every later one finds it.
 */
export const directConversationId = (a: string, b: string): string => {
  const [x, y] = a < b ? [a, b] : [b, a]
  return `d_${createHash('sha256').update(`${x}:${y}`).digest('base64url').slice(0, 32)}`
}
