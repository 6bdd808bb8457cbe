import { decodeEvent, HEADERS, parseConvSubject } from '@chatapp/contracts'
import type { StoredEvent } from './conversation-log.js'
import type { RawStored } from './range-reader.js'

export type OnUndecodable = (where: { stream: string; seq: number; subject: string; reason: string }) => void

/**
 * A stored message of conversation `id` as a StoredEvent, or undefined when it belongs to another
 * conversation or does not decode (reported): the one decoding every log reader uses, whether the
 * message came from the stream or the archive.
 */
export const toStoredEvent = (
  id: string,
  stream: string,
  m: RawStored,
  onUndecodable?: OnUndecodable,
): StoredEvent | undefined => {
  const p = parseConvSubject(m.subject)
  if (!p || p.conversationId !== id) return undefined
  const d = decodeEvent(m.data)
  if (!d.ok) {
    onUndecodable?.({ stream, seq: m.seq, subject: m.subject, reason: d.error.message })
    return undefined
  }
  const prev = Number(m.header(HEADERS.prev) ?? Number.NaN)
  return { seq: m.seq, lane: p.lane, event: d.value, ...(Number.isInteger(prev) ? { prev } : {}) }
}
