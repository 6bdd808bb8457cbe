import {
  type ChatEvent,
  type DeadLetter,
  decodeEvent,
  type EventType,
  parseConvSubject,
} from '@chatapp/contracts'
import { addChanges, type BatchPlan, emptyPlan } from './batch-plan.js'
import { type ConvState, project } from './project.js'

/** One stored message of a shard stream, as the consumer or a replay hands it over. */
export interface LogEntry {
  stream: string
  seq: number
  subject: string
  data: Uint8Array
}

export interface BatchResult {
  plan: BatchPlan
  deadLetters: DeadLetter[]
  applied: number
  /** At or below the stored offset: applied before (a redelivery or a replay after a crash). */
  skipped: number
  byType: Partial<Record<EventType, number>>
  /** The highest sequence looked at and the `at` of the last event applied (0 when none). */
  lastSeq: number
  lastAt: number
}

/** Which conversations a batch touches, to load their state in one query before projecting. */
export const conversationsOf = (entries: readonly LogEntry[]): string[] => [
  ...new Set(entries.map((e) => parseConvSubject(e.subject)?.conversationId).filter((x): x is string => !!x)),
]

const base64 = (b: Uint8Array) => Buffer.from(b).toString('base64')

/**
 * Decodes and projects a batch in stream order: pure (the states are loaded by the caller, `now`
 * stamps dead letters). A message that does not decode or breaks an invariant becomes a dead
 * letter and the batch goes on, so one poison event never blocks its shard.
 */
export const projectBatch = (
  states: Map<string, ConvState>,
  entries: readonly LogEntry[],
  offset: number,
  source: string,
  now: number,
): BatchResult => {
  const r: BatchResult = {
    plan: emptyPlan(),
    deadLetters: [],
    applied: 0,
    skipped: 0,
    byType: {},
    lastSeq: offset,
    lastAt: 0,
  }
  const dead = (e: LogEntry, reason: string) =>
    r.deadLetters.push({
      v: 1,
      source,
      stream: e.stream,
      seq: e.seq,
      subject: e.subject,
      code: 'EVENT_INVALID',
      reason: reason.slice(0, 2000),
      payload: base64(e.data),
      at: now,
    })
  for (const entry of entries) {
    if (entry.seq <= r.lastSeq) {
      r.skipped++
      continue
    }
    r.lastSeq = entry.seq
    const where = parseConvSubject(entry.subject)
    if (!where) {
      dead(entry, `not a conversation subject: ${entry.subject}`)
      continue
    }
    const decoded = decodeEvent(entry.data)
    if (!decoded.ok) {
      dead(entry, [decoded.error.message, ...(decoded.error.details ?? [])].join('; '))
      continue
    }
    const event: ChatEvent = decoded.value
    const out = project(states.get(where.conversationId), event, {
      seq: entry.seq,
      conversationId: where.conversationId,
      lane: where.lane,
    })
    if (!out.ok) {
      dead(entry, `${event.type}: ${out.reason}`)
      continue
    }
    states.set(where.conversationId, out.state)
    addChanges(r.plan, out.changes)
    r.applied++
    r.byType[event.type] = (r.byType[event.type] ?? 0) + 1
    r.lastAt = event.at
  }
  return r
}
