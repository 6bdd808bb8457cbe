import {
  type ChatEvent,
  type DeadLetter,
  decodeEvent,
  type EventType,
  type PushItem,
  parseConvSubject,
} from '@chatapp/contracts'
import { effectsOf, pushItemOf, pushJobsOfBatch } from '@chatapp/domain'
import { addChanges, type BatchPlan, emptyPlan } from './batch-plan.js'
import { type Continuity, follows } from './continuity.js'
import type { OutboxRoute, OutboxRow } from './outbox-rows.js'
import { type ConvState, convState, project } from './project.js'

/** One stored message of a shard stream, as the consumer or a replay hands it over. */
export interface LogEntry {
  stream: string
  seq: number
  subject: string
  data: Uint8Array
  /** When JetStream stored it (ms) and its headers: set by the log readers, kept by the archive. */
  at?: number
  headers?: Record<string, string>
}

export interface BatchResult {
  plan: BatchPlan
  deadLetters: DeadLetter[]
  /**
   * The effects of the events this batch admitted, in log order, then the batch's push jobs (only
   * when `effects` is given).
   */
  effects: OutboxRow[]
  applied: number
  /** At or below the stored offset: applied before (a redelivery or a replay after a crash). */
  skipped: number
  byType: Partial<Record<EventType, number>>
  /** The highest sequence applied or dead-lettered (the new offset) and the `at` of the last event applied (0 when none). */
  lastSeq: number
  lastAt: number
  /** Set when an entry did not follow the offset (see continuity.ts): it and the rest were not looked at. */
  hole?: { after: number; next: number }
}

export interface BatchInput {
  /** The shard's offset as stored in the views, read in the transaction that applies the batch. */
  offset: number
  continuity: Continuity
  /** Entries to dead-letter instead of projecting (the database refused each alone): seq → reason. */
  refused?: ReadonlyMap<number, string>
  /**
   * Collect the effects of admitted events (domain's `effectsOf`) as outbox rows: the live
   * projector does; rebuild and verify never do (they would publish history again, ADR 0150).
   */
  effects?: OutboxRoute
  /** Who dead-letters (the DLQ record's `source`) and when. */
  source: string
  now: number
}

/** Subjects repeat (two per conversation), and splitting them is a visible share of a rebuild. */
const subjects = new Map<string, ReturnType<typeof parseConvSubject>>()
export const subjectOf = (subject: string): ReturnType<typeof parseConvSubject> => {
  let p = subjects.get(subject)
  if (p === undefined && !subjects.has(subject)) {
    if (subjects.size >= 100_000) subjects.clear()
    p = parseConvSubject(subject)
    subjects.set(subject, p)
  }
  return p
}

/** Which conversations a batch touches, to load their state in one query before projecting. */
export const conversationsOf = (entries: readonly LogEntry[]): string[] => {
  const ids = new Set<string>()
  for (const e of entries) {
    const id = subjectOf(e.subject)?.conversationId
    if (id) ids.add(id)
  }
  return [...ids]
}

const base64 = (b: Uint8Array) => Buffer.from(b).toString('base64')

/** PostgreSQL cannot store U+0000 in text: a dead letter's own fields must never be refused. */
const storable = (s: string, max: number) => s.replaceAll('\u0000', '\\u0000').slice(0, max)

/**
 * Decodes and projects a batch in stream order: pure (the states are loaded by the caller, `now`
 * stamps dead letters). A message that does not decode or that the database refused on its own
 * (`refused`) becomes a dead letter `EVENT_INVALID`; an event the domain's rules refuse at its
 * place becomes one `EVENT_REJECTED` and changes no view row; either way the batch goes on, so
 * one event never blocks its shard. An admitted event dead-lettered for its data still moves the
 * conversation's state (every other reader folds it), but writes no row and has no effects. Entries at or below the offset are skipped; the first entry that does
 * not follow the offset (continuity.ts) ends the batch with a `hole`, so the views never skip one.
 */
export const projectBatch = (
  states: Map<string, ConvState>,
  entries: readonly LogEntry[],
  input: BatchInput,
): BatchResult => {
  const r: BatchResult = {
    plan: emptyPlan(),
    deadLetters: [],
    effects: [],
    applied: 0,
    skipped: 0,
    byType: {},
    lastSeq: input.offset,
    lastAt: 0,
  }
  // The batch's notification-worthy events, made into its push jobs at the end (ADR 0193).
  const push: PushItem[] = []
  let first = 0
  const dead = (e: LogEntry, reason: string, code: 'EVENT_INVALID' | 'EVENT_REJECTED' = 'EVENT_INVALID') =>
    r.deadLetters.push({
      v: 1,
      source: input.source,
      stream: e.stream,
      seq: e.seq,
      subject: storable(e.subject, 300),
      code,
      reason: storable(reason, 2000),
      payload: base64(e.data),
      at: input.now,
    })
  for (const entry of entries) {
    if (entry.seq <= r.lastSeq) {
      r.skipped++
      continue
    }
    if (!follows(r.lastSeq, entry.seq, input.continuity)) {
      r.hole = { after: r.lastSeq, next: entry.seq }
      break
    }
    r.lastSeq = entry.seq
    if (first === 0) first = entry.seq
    const refused = input.refused?.get(entry.seq)
    const where = subjectOf(entry.subject)
    if (!where) {
      dead(entry, refused ?? `not a conversation subject: ${entry.subject}`)
      continue
    }
    const decoded = decodeEvent(entry.data)
    if (!decoded.ok) {
      dead(entry, refused ?? [decoded.error.message, ...(decoded.error.details ?? [])].join('; '))
      continue
    }
    const event: ChatEvent = decoded.value
    let out: ReturnType<typeof project>
    try {
      out = project(states.get(where.conversationId), event, {
        seq: entry.seq,
        conversationId: where.conversationId,
        lane: where.lane,
      })
    } catch (err) {
      // The fold is pure: throwing on this event would throw on every retry, and stop the shard.
      dead(entry, `${event.type}: the projection threw: ${(err as Error).message}`)
      continue
    }
    if (!out.ok) {
      // The conversation's rules refuse it at its place (ADR 0080): every reader skips it.
      dead(entry, `${event.type}: ${out.reason}`, 'EVENT_REJECTED')
      continue
    }
    // Times are int8 in the views and numbers in every reader: a time no number holds exactly is poison.
    const poison =
      refused ??
      (Number.isSafeInteger(event.at) ? undefined : `${event.type}: at ${event.at} is not a safe integer`)
    if (poison !== undefined) {
      // Admitted: part of the conversation for every other reader, so what the rules read (`n`,
      // members, invitations) goes on from it (the next message's `n` follows this one's); the
      // views' own fields stay as stored, or later rows would carry what was refused. A creation
      // the views cannot hold leaves no conversation to fold into.
      const before = states.get(where.conversationId)
      if (before) {
        const { members, row } = out.state
        states.set(
          where.conversationId,
          convState({ ...before.row, lastN: row.lastN, memberCount: row.memberCount }, members, out.state),
        )
      }
      dead(entry, poison)
      continue
    }
    states.set(where.conversationId, out.state)
    if (input.effects) {
      for (const x of effectsOf(event, entry.seq)) r.effects.push(input.effects(x, entry.seq))
      if (input.effects.pushBatch !== undefined) {
        // The conversation as this event left it: a message's push item names its members now
        // (the domain says which events have one; the members are read only for those).
        const conv = { kind: out.state.kind, title: out.state.row.title, members: out.state.members.keys() }
        const item = pushItemOf(event, entry.seq, conv)
        if (item) push.push(item)
      }
    }
    addChanges(r.plan, out.changes)
    r.applied++
    r.byType[event.type] = (r.byType[event.type] ?? 0) + 1
    r.lastAt = event.at
  }
  // One job (or a few, for large groups) per batch: the batch is committed once, and its first
  // sequence above the offset is in no other committed batch of the shard, so the id is unique.
  if (push.length > 0 && input.effects?.pushBatch !== undefined)
    for (const p of pushJobsOfBatch(`${input.effects.pushBatch}:${first}`, push))
      r.effects.push(input.effects({ kind: 'push', ...p }, first))
  return r
}
