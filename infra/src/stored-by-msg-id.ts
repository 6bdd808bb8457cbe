import type { JetStreamManager } from '@nats-io/jetstream'

/** NATS subject matching: `*` one token, `>` one or more trailing tokens. */
const matches = (pattern: string, subject: string): boolean => {
  const p = pattern.split('.')
  const s = subject.split('.')
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false
  }
  return p.length === s.length
}

/**
 * For tests of effects: how many times each Msg-Id is stored on `subject` (wildcards allowed) of
 * `stream` — what readers of the effects meet, whoever published them and however often. Reads
 * every stored message by sequence (the stream API, so a work-queue stream is read without a
 * consumer).
 */
export const storedByMsgId = async (
  jsm: JetStreamManager,
  stream: string,
  subject: string,
): Promise<Map<string, number>> => {
  const out = new Map<string, number>()
  const { state } = await jsm.streams.info(stream)
  if (state.messages === 0) return out
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null)
    if (!m || !matches(subject, m.subject)) continue
    const id = m.header.get('Nats-Msg-Id') || '(none)'
    out.set(id, (out.get(id) ?? 0) + 1)
  }
  return out
}
