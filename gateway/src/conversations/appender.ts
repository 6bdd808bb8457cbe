import { randomUUID } from 'node:crypto'
import {
  type ChatEvent,
  type ErrorCode,
  encodeJson,
  laneOf,
  type MembershipNotice,
  type Names,
} from '@chatapp/contracts'
import type { JetStreamClient } from '@nats-io/jetstream'
import { type Command, type DecideContext, decide } from './decide.js'
import type { ConversationLog } from './log.js'
import type { ReceiptBatcher } from './receipt-batcher.js'
import type { ConversationStore } from './store.js'

export type AppendOutcome =
  | { ok: true; conversationId: string; seq?: number; event?: ChatEvent; duplicate: boolean }
  | { ok: false; code: ErrorCode; message?: string }

export interface Appender {
  /**
   * Decides `command` on the conversation's current state and appends the event, serialised per
   * conversation on this gateway and linearised across gateways by the subject-sequence
   * expectation (ADR 0006). Idempotent for sends (Msg-Id) and for commands that are already so.
   */
  execute(conversationId: string, command: Command, opts?: AppendOptions): Promise<AppendOutcome>
}

export interface AppendOptions {
  msgId?: string
  /**
   * The stream sequence already holding this command, from a durable record (the projector's
   * message view, for retries older than JetStream's duplicate window). Consulted inside the
   * conversation's queue, so pipelined retries keep their order. A failing lookup must resolve
   * to undefined: the Msg-Id still catches a retry inside the window.
   */
  recorded?: () => Promise<number | undefined>
}

export interface AppenderOptions {
  limits: DecideContext['limits']
  /** Decide/append rounds under contention before BUSY. */
  maxAttempts?: number
  now?: () => number
  /**
   * Where decided receipts of groups go instead of one append each (ADR 0070). Direct
   * conversations, and a gateway without one, append every receipt on its own.
   */
  receipts?: ReceiptBatcher
}

/** Users whose conversation set an event changes: joined or not. */
export const membershipChanges = (e: ChatEvent): { userId: string; joined: boolean }[] => {
  switch (e.type) {
    case 'conversation.created':
      return e.data.members.map((m) => ({ userId: m.userId, joined: true }))
    case 'member.added':
      return [{ userId: e.data.userId, joined: true }]
    case 'member.removed':
    case 'member.left':
      return [{ userId: e.data.userId, joined: false }]
    default:
      return []
  }
}

export const createAppender = (
  js: JetStreamClient,
  n: Names,
  log: ConversationLog,
  store: ConversationStore,
  o: AppenderOptions,
): Appender => {
  const maxAttempts = o.maxAttempts ?? 8
  const now = o.now ?? Date.now
  const queues = new Map<string, Promise<unknown>>()

  /** Per-conversation serialisation: one decision and append in flight per conversation. */
  const serial = <T>(id: string, f: () => Promise<T>): Promise<T> => {
    const prev = queues.get(id) ?? Promise.resolve()
    const run = prev.then(f, f)
    const tail = run.catch(() => {})
    queues.set(id, tail)
    tail.then(() => {
      if (queues.get(id) === tail) queues.delete(id)
    })
    return run
  }

  const notify = async (e: ChatEvent, seq: number) => {
    const changes = membershipChanges(e)
    // Bounded parallelism: a 1,024-member group creation publishes 1,024 notices.
    for (let i = 0; i < changes.length; i += 64) {
      await Promise.all(
        changes.slice(i, i + 64).map(({ userId, joined }) => {
          const notice: MembershipNotice = {
            v: 1,
            id: `${e.conversationId}:${seq}:${userId}`,
            userId,
            conversationId: e.conversationId,
            joined,
            convSeq: seq,
            at: e.at,
          }
          return js.publish(n.userSubject(userId), encodeJson(notice), { msgID: notice.id })
        }),
      )
    }
  }

  return {
    execute: (id, command, opts = {}) => {
      // Receipts append without an expectation and need no linearisation: they skip the queue,
      // so a read wave in a big group never delays its messages.
      const run = command.type === 'receipt' ? <T>(_: string, f: () => Promise<T>) => f() : serial
      return run(id, async (): Promise<AppendOutcome> => {
        const recordedSeq = opts.recorded ? await opts.recorded() : undefined
        const original = recordedSeq ? await log.get(id, recordedSeq) : undefined
        if (recordedSeq && original) {
          return { ok: true, conversationId: id, seq: recordedSeq, duplicate: true, event: original.event }
        }
        let state = await store.get(id)
        for (let attempt = 0; attempt < maxAttempts; attempt++) {
          const d = decide(state, command, { now: now(), newId: randomUUID, limits: o.limits })
          if (!d.ok) {
            // A refusal may come from a stale cache (added on another gateway a moment ago):
            // confirm against the log once before answering.
            if (
              attempt === 0 &&
              (d.code === 'NOT_A_MEMBER' || d.code === 'NOT_ADMIN' || d.code === 'INVALID_FRAME')
            ) {
              state = await store.refresh(id)
              const again = decide(state, command, { now: now(), newId: randomUUID, limits: o.limits })
              if (!again.ok) return again
              continue
            }
            return d
          }
          const e = d.events[0]
          if (!e) return { ok: true, conversationId: id, duplicate: false }
          if (command.type === 'receipt' && state.kind === 'group' && o.receipts) {
            // Decided against the current state like any receipt; appended with the batch.
            o.receipts.add(id, command.actor, command.kind, command.upTo)
            return { ok: true, conversationId: id, duplicate: false }
          }
          const lane = laneOf(e.type)
          const expected = state.lastM
          const r = await log.append(e, {
            ...(lane === 'm' ? { expectLastSeq: expected } : {}),
            ...(opts.msgId ? { msgId: opts.msgId } : {}),
          })
          if (!r.ok) {
            state = await store.refresh(id, 'm')
            continue
          }
          if (r.duplicate) {
            const original = await log.get(id, r.seq)
            return {
              ok: true,
              conversationId: id,
              seq: r.seq,
              duplicate: true,
              ...(original ? { event: original.event } : {}),
            }
          }
          if (lane === 'm') store.apply(id, { seq: r.seq, lane, event: e }, expected)
          await notify(e, r.seq)
          return { ok: true, conversationId: id, seq: r.seq, event: e, duplicate: false }
        }
        return { ok: false, code: 'BUSY' }
      })
    },
  }
}
