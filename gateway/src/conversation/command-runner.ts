import { randomUUID } from 'node:crypto'
import { type ChatEvent, type ErrorCode, type Lane, laneOf } from '@chatapp/contracts'
import { type Command, type DecideContext, decide } from '@chatapp/domain'
import type { ConversationLog } from '@chatapp/kit'
import type { ReceiptBatcher } from './receipt-batcher.js'
import type { StateStore } from './state-store.js'

export type Outcome =
  | { ok: true; conversationId: string; seq?: number; event?: ChatEvent; duplicate: boolean }
  | { ok: false; code: ErrorCode; message?: string }

export interface RunOptions {
  /** De-duplication id of the append (sends: `<conversation>:<sender>:<clientMsgId>`). */
  msgId?: string
  /**
   * The stream sequence already holding this command, from a durable record (for retries older
   * than JetStream's duplicate window). Consulted inside the conversation's queue, so pipelined
   * retries keep their order. A failing lookup must resolve to undefined.
   */
  recorded?: () => Promise<number | undefined>
  /**
   * Run inside the conversation's queue, before and after the command: a refusal that depends on
   * what happened to the commands queued before it (a connection's order block, see
   * command/send.ts), and the hook that records how it ended before the next one starts.
   */
  guard?: {
    before(): Outcome | undefined
    after(result: { outcome: Outcome } | { error: unknown }): void
  }
}

/**
 * A command, or how to build it inside the conversation's queue (when building it reads
 * something, such as the media a send attaches, a failure there must keep the queue's order).
 */
export type CommandSource = Command | (() => Promise<Command>)

export interface CommandRunner {
  /**
   * Read → decide → append → verdict → outcome, serialised per conversation on this gateway.
   * An appended `.m` event is reported only once the fold has accepted it at its place in the
   * log (ADR 0080); a rejected one is decided and appended again on the state that beat it.
   */
  run(conversationId: string, command: CommandSource, opts?: RunOptions): Promise<Outcome>
}

export interface CommandRunnerOptions {
  limits: DecideContext['limits']
  /** Decide/append rounds under contention before BUSY. */
  maxAttempts?: number
  now?: () => number
  /** Where decided receipts of groups go instead of one append each (ADR 0070). */
  receipts?: ReceiptBatcher
}

/** Refusals a stale cache can cause (a change made on another gateway a moment ago). */
const STALE_REFUSALS = new Set<ErrorCode>([
  'NOT_A_MEMBER',
  'NOT_ADMIN',
  'ADMINS_ONLY',
  'INVALID_FRAME',
  'NO_INVITATION',
  // A message appended through another gateway a moment ago is beyond this one's fold.
  'MESSAGE_NOT_FOUND',
  // An invite link created through another gateway a moment ago.
  'INVALID_LINK',
  // A join request made, withdrawn or answered through another gateway a moment ago (ADR 0217).
  'NO_JOIN_REQUEST',
  'JOIN_REQUESTED',
  'JOIN_DENIED',
])

/** Deterministic Msg-Id of the k-th re-append after rejections: a resend finds the same chain. */
const chained = (msgId: string | undefined, rejectedSeq: number) =>
  msgId === undefined ? undefined : `${msgId}@${rejectedSeq}`

/**
 * The Msg-Id to try after one the server holds as proposed and never stored: `id`, `id~2`,
 * `id~3` … Every gateway walks the same chain, so a resend meets the id its event was stored
 * under (a duplicate with its real sequence) instead of the lost proposal's "duplicate of 0".
 */
export const nextAfterUnconfirmed = (msgId: string): string => {
  const m = /^(.*)~(\d+)$/.exec(msgId)
  return m ? `${m[1]}~${Number(m[2]) + 1}` : `${msgId}~2`
}

export const createCommandRunner = (
  log: ConversationLog,
  store: StateStore,
  o: CommandRunnerOptions,
): CommandRunner => {
  const maxAttempts = o.maxAttempts ?? 8
  const now = o.now ?? Date.now
  const queues = new Map<string, Promise<unknown>>()
  const ctx = (): DecideContext => ({ now: now(), newId: randomUUID, limits: o.limits })

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

  /** The stored event at `seq`, for a duplicate answer (the original's n and time). */
  const original = async (id: string, seq: number) => (await log.get(id, seq))?.event

  /**
   * After an attempt that may have stored `e` without our hearing of it (the expectation failed,
   * or the fold rejected our copy): `e` (same id) among the events after `after`, accepted by the
   * fold there. Only sends have deterministic ids.
   */
  const acceptedAlready = async (id: string, e: ChatEvent, after: number, upTo: number) => {
    for await (const x of log.read(id, after, upTo, 'm'))
      if (x.event.id === e.id && (await store.verdict(id, x.seq)) === 'accepted') return x
    return undefined
  }

  const guarded = async (id: string, source: CommandSource, opts: RunOptions): Promise<Outcome> => {
    const g = opts.guard
    const refused = g?.before()
    if (refused) return refused
    try {
      const command = typeof source === 'function' ? await source() : source
      const outcome = await execute(id, command, opts)
      g?.after({ outcome })
      return outcome
    } catch (error) {
      g?.after({ error })
      throw error
    }
  }

  const execute = async (id: string, command: Command, opts: RunOptions): Promise<Outcome> => {
    const recordedSeq = opts.recorded ? await opts.recorded() : undefined
    if (recordedSeq) {
      const event = await original(id, recordedSeq)
      if (event) return { ok: true, conversationId: id, seq: recordedSeq, duplicate: true, event }
    }
    let state = await store.get(id)
    let msgId = opts.msgId
    let refreshed = false
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const d = decide(state, command, ctx())
      if (!d.ok) {
        // A refusal may come from a stale cache (added on another gateway a moment ago):
        // confirm against the log once before answering.
        if (!refreshed && STALE_REFUSALS.has(d.code)) {
          refreshed = true
          state = await store.refresh(id)
          continue
        }
        return d
      }
      const e = d.events[0]
      if (!e) return { ok: true, conversationId: id, duplicate: false }
      const lane: Lane = laneOf(e.type)
      if (lane === 'r') {
        if (command.type === 'receipt' && state.kind === 'group' && o.receipts) {
          o.receipts.add(id, command.actor, command.kind, command.upTo)
          return { ok: true, conversationId: id, duplicate: false }
        }
        // Lane `r` is judged without an expectation (receipts, hides): stored is accepted.
        const r = await log.append(e)
        return { ok: true, conversationId: id, duplicate: false, ...(r.ok ? { seq: r.seq, event: e } : {}) }
      }
      const expected = state.lastM
      const r = await log.append(e, { expectLastSeq: expected, ...(msgId ? { msgId } : {}) })
      if (!r.ok) {
        // Refused (another event took the place), or unknown (a failed attempt, or a duplicate
        // whose original has no sequence yet): look again, and for ours when it may be stored.
        state = await store.refresh(id, 'm')
        if (r.uncertain) {
          const mine = await acceptedAlready(id, e, expected, state.lastM)
          if (mine) return { ok: true, conversationId: id, seq: mine.seq, duplicate: true, event: mine.event }
        }
        // A Msg-Id whose proposal was lost (a leader change) is answered "duplicate of 0" until
        // the duplicate window drops it, two minutes of BUSY: the same event goes on under the
        // next id of the chain. Were that proposal only slow and both stored, the fold accepts
        // one copy and rejects the other (the same n), and the check below finds the accepted one.
        if (r.reason === 'unconfirmed-duplicate' && msgId !== undefined) msgId = nextAfterUnconfirmed(msgId)
        continue
      }
      if ((await store.verdict(id, r.seq)) === 'rejected') {
        state = await store.refresh(id, 'm')
        // Rejected because our own event is accepted in another copy (under another Msg-Id of
        // the chains: a lost-looking proposal that was only slow): that one is the answer. Every
        // copy was decided on a state at or after the one the rejected copy was appended on (its
        // Chat-Prev; a duplicate answer names a copy another writer appended, maybe earlier).
        if (msgId !== undefined) {
          const prev = r.duplicate ? (await log.get(id, r.seq))?.prev : undefined
          const mine = await acceptedAlready(id, e, Math.min(expected, prev ?? expected), state.lastM)
          if (mine) return { ok: true, conversationId: id, seq: mine.seq, duplicate: true, event: mine.event }
        }
        // It raced a change that forbids it (ADR 0080): decide again on the state that won.
        msgId = chained(msgId, r.seq)
        continue
      }
      // Nothing else follows here: what an accepted event entails (notices, media jobs) is done
      // from the log by the projector's reactors (ADR 0150), so a crash now loses nothing.
      const event = r.duplicate ? ((await original(id, r.seq)) ?? e) : e
      return { ok: true, conversationId: id, seq: r.seq, duplicate: r.duplicate, event }
    }
    return { ok: false, code: 'BUSY' }
  }

  return {
    run: (id, command, opts = {}) =>
      // Receipts append without an expectation and need no linearisation: they skip the queue,
      // so a read wave in a big group never delays its messages.
      typeof command !== 'function' && command.type === 'receipt'
        ? guarded(id, command, opts)
        : serial(id, () => guarded(id, command, opts)),
  }
}
