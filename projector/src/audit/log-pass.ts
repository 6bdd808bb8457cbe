import { decodeEvent, type Names } from '@chatapp/contracts'
import { auditEvent, type ConversationAudit, startAudit } from '@chatapp/domain'
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import { type ArchiveSource, readArchivedLog } from '../archived-log-reader.js'
import { subjectOf } from '../core/project-batch.js'
import { type Finding, finding } from './findings.js'

/**
 * The log side of the audit: every shard stream read in order, each conversation folded through
 * the domain's log audit (log-audit.ts in domain/, the one home of those checks). Incremental:
 * each `advance` reads what was appended since the last one, so a continuous audit reads every
 * event once. It keeps each conversation's folded state in memory (like a gateway's state cache,
 * without its bound): the cost of a continuous audit is about that of the states it holds.
 */
export interface LogPass {
  /** Reads every shard up to its current end; returns what the new events showed. */
  advance(): Promise<Finding[]>
  readonly conversations: ReadonlyMap<string, ConversationAudit>
  /** Events read, accepted messages, per shard the last sequence read. */
  stats(): { events: number; messages: number; readUpTo: number[] }
}

export const createLogPass = (o: {
  js: JetStreamClient
  jsm: JetStreamManager
  names: Names
  batch: number
  archive?: ArchiveSource
}): LogPass => {
  const conversations = new Map<string, ConversationAudit>()
  const readUpTo = Array.from({ length: o.names.shards }, () => 0)
  let events = 0
  let messages = 0

  const shardPass = async (shard: number, out: Finding[]) => {
    const stream = o.names.convStream(shard)
    for await (const entries of readArchivedLog(o.js, o.jsm, o.archive, {
      stream,
      fromSeq: readUpTo[shard]! + 1,
      batch: o.batch,
    })) {
      for (const e of entries) {
        events++
        readUpTo[shard] = e.seq
        const where = subjectOf(e.subject)
        const decoded = where ? decodeEvent(e.data) : undefined
        if (!where || !decoded?.ok) {
          const reason = !where
            ? `not a conversation subject: ${e.subject}`
            : decoded?.ok === false
              ? decoded.error.message
              : ''
          out.push(
            finding('EVENT_UNDECODABLE', reason, {
              shard,
              seq: e.seq,
              ...(where ? { conversationId: where.conversationId } : {}),
            }),
          )
          continue
        }
        let a = conversations.get(where.conversationId)
        if (!a) {
          a = startAudit(where.conversationId)
          conversations.set(where.conversationId, a)
        }
        const before = a.messages
        const r = auditEvent(a, { seq: e.seq, lane: where.lane, event: decoded.value })
        messages += a.messages - before
        for (const f of r.findings)
          out.push(finding(f.code, f.detail, { conversationId: f.conversationId, shard, seq: f.seq }))
      }
    }
  }

  return {
    conversations,
    async advance() {
      const out: Finding[] = []
      for (let shard = 0; shard < o.names.shards; shard++) await shardPass(shard, out)
      return out
    },
    stats: () => ({ events, messages, readUpTo: [...readUpTo] }),
  }
}
