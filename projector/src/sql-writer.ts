import type { DeadLetter } from '@chatapp/contracts'
import type { BatchPlan } from './core/batch-plan.js'
import type { PairMap } from './core/pair-map.js'
import { ident, type Queryable } from './db.js'
import { messageActionWrites } from './message-action-writes.js'
import { literalParams } from './pg-arrays.js'

/**
 * One write of a batch's transaction: a data-modifying statement on a table of its own, with its
 * parameters. The writes of a batch are sent as ONE statement (runWrites), so a batch costs the
 * same round trips whatever it holds.
 */
export interface Write {
  /**
   * The statement. With a `guard` (a boolean SQL expression), it writes nothing unless the guard
   * holds: each write puts it in its own WHERE (see runWrites). An added write follows suit.
   */
  sql: (guard?: string) => string
  params: unknown[]
}

export const where = (guard?: string) => (guard ? ` WHERE ${guard}` : '')
export const and = (guard?: string) => (guard ? ` AND ${guard}` : '')

/**
 * The writes of a table of standings keyed by conversation and user (invitations, join requests):
 * absolute rows upsert; null rows (a standing that ended) delete. A key of the plan is either
 * written or deleted, never both.
 */
const standingWrites = <R extends { conversationId: string; userId: string }>(
  s: string,
  table: string,
  rows: PairMap<R | null>,
  columns: [name: string, type: 'text' | 'int8', of: (r: R) => unknown][],
): Write[] => {
  const out: Write[] = []
  const standing = rows.values().filter((x): x is R => x !== null)
  if (standing.length > 0) {
    const names = columns.map(([n]) => n)
    const types = ['text', 'text', ...columns.map(([, t]) => t)]
    out.push({
      sql: (g) => `INSERT INTO ${s}.${table} (conversation_id, user_id, ${names.join(', ')})
       SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})${where(g)}
       ON CONFLICT (conversation_id, user_id) DO UPDATE SET ${names.map((n) => `${n} = excluded.${n}`).join(', ')}`,
      params: [
        standing.map((x) => x.conversationId),
        standing.map((x) => x.userId),
        ...columns.map(([, , of]) => standing.map(of)),
      ],
    })
  }
  const gone = rows.entries().filter(([, , v]) => v === null)
  if (gone.length > 0)
    out.push({
      sql: (g) => `DELETE FROM ${s}.${table} i USING unnest($1::text[], $2::text[]) AS v(c, u)
       WHERE i.conversation_id = v.c AND i.user_id = v.u${and(g)}`,
      params: [gone.map(([c]) => c), gone.map(([, u]) => u)],
    })
  return out
}

/**
 * Up to this many watermarks of members a batch did not otherwise change are written by key with
 * the members' rows; more, as one UPDATE joined to their keys (ADR 0225). Per statement
 * (`bench/member-writes.ts`, the projector's CPU and its backend's): while PostgreSQL's generic
 * plan for the join scans the table (some thousands of rows or fewer) the keyed form is cheaper up
 * to about 8 watermarks and even up to 64; once the table is large enough for index probes (every
 * real deployment) the join is cheaper from about 16 on, the keyed form carrying nine arrays to
 * the join's four. A 1:1 shard's batch holds about a dozen; a large group's, hundreds.
 */
export const KEYED_MARKS = 16

/**
 * The writes of a batch plan: one multi-row statement per table (arrays + unnest), never one per
 * row. Every statement is idempotent: absolute rows upsert, messages insert-or-ignore, media
 * patches merge, watermarks take GREATEST.
 */
export const planWrites = (
  schema: string,
  p: BatchPlan,
  o: {
    bulk?: boolean
    /** KEYED_MARKS by default; another bound for measurements (bench/member-writes.ts). */
    keyedMarks?: number
  } = {},
): Write[] => {
  const keyed = o.keyedMarks ?? KEYED_MARKS
  const s = ident(schema)
  const parts: Write[] = []
  if (p.conversations.size > 0) {
    const r = [...p.conversations.values()]
    parts.push({
      sql: (
        g,
      ) => `INSERT INTO ${s}.conversations (conversation_id, kind, title, created_seq, created_at, last_seq, last_at,
         last_msg_seq, last_n, member_count, description, avatar, edit_info, send_messages, links)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[],
         $8::int8[], $9::int4[], $10::int4[], $11::text[], $12::jsonb[], $13::text[], $14::text[],
         $15::jsonb[])${where(g)}
       ON CONFLICT (conversation_id) DO UPDATE SET kind = excluded.kind, title = excluded.title,
         last_seq = excluded.last_seq, last_at = excluded.last_at, last_msg_seq = excluded.last_msg_seq,
         last_n = excluded.last_n, member_count = excluded.member_count, description = excluded.description,
         avatar = excluded.avatar, edit_info = excluded.edit_info, send_messages = excluded.send_messages,
         links = excluded.links`,
      params: [
        r.map((x) => x.conversationId),
        r.map((x) => x.kind),
        r.map((x) => x.title),
        r.map((x) => x.createdSeq),
        r.map((x) => x.createdAt),
        r.map((x) => x.lastSeq),
        r.map((x) => x.lastAt),
        r.map((x) => x.lastMsgSeq),
        r.map((x) => x.lastN),
        r.map((x) => x.memberCount),
        r.map((x) => x.description),
        r.map((x) => (x.avatar ? JSON.stringify(x.avatar) : null)),
        r.map((x) => x.editInfo),
        r.map((x) => x.sendMessages),
        r.map((x) => JSON.stringify(x.links)),
      ],
    })
  }
  // Member rows of this batch and the watermarks of members it did not change, in one upsert: a
  // watermark rides on its member's row (the batch's, or the one the projection held), GREATEST
  // with what is stored. Keyed by the primary key through ON CONFLICT, so PostgreSQL probes the
  // index per row, where an UPDATE … FROM unnest(keys) was planned (generic plan, ten keys
  // assumed) as a scan of the whole table until it held some thousands of rows (ADR 0225). A row
  // that would not change is not rewritten (the WHERE of DO UPDATE). Past KEYED_MARKS watermarks
  // (a large group's receipts) the joined UPDATE below is the cheaper form (see KEYED_MARKS).
  const others = p.watermarks.values().filter((w) => !p.members.has(w.conversationId, w.userId))
  const marked = others.length <= keyed ? others : []
  if (p.members.size > 0 || marked.length > 0) {
    const r = [...p.members.values(), ...marked.map((w) => w.member)]
    const mark = r.map((x) => p.watermarks.get(x.conversationId, x.userId))
    parts.push({
      sql: (
        g,
      ) => `INSERT INTO ${s}.members AS m (conversation_id, user_id, role, active, joined_seq, join_ord, left_seq,
         delivered_up_to, read_up_to)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::int8[], $6::int4[], $7::int8[],
         $8::int8[], $9::int8[])${where(g)}
       ON CONFLICT (conversation_id, user_id) DO UPDATE SET role = excluded.role, active = excluded.active,
         joined_seq = excluded.joined_seq, join_ord = excluded.join_ord, left_seq = excluded.left_seq,
         delivered_up_to = GREATEST(m.delivered_up_to, excluded.delivered_up_to),
         read_up_to = GREATEST(m.read_up_to, excluded.read_up_to)
       WHERE (m.role, m.active, m.joined_seq, m.join_ord, m.left_seq)
           IS DISTINCT FROM (excluded.role, excluded.active, excluded.joined_seq, excluded.join_ord, excluded.left_seq)
         OR excluded.delivered_up_to > m.delivered_up_to OR excluded.read_up_to > m.read_up_to`,
      params: [
        r.map((x) => x.conversationId),
        r.map((x) => x.userId),
        r.map((x) => x.role),
        r.map((x) => x.active),
        r.map((x) => x.joinedSeq),
        r.map((x) => x.joinOrd),
        r.map((x) => x.leftSeq),
        mark.map((w) => w?.delivered ?? 0),
        mark.map((w) => w?.read ?? 0),
      ],
    })
  }
  if (others.length > keyed)
    parts.push({
      sql: (g) => `UPDATE ${s}.members m SET delivered_up_to = GREATEST(m.delivered_up_to, v.d),
         read_up_to = GREATEST(m.read_up_to, v.r)
       FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[]) AS v(c, u, d, r)
       WHERE m.conversation_id = v.c AND m.user_id = v.u AND (v.d > m.delivered_up_to OR v.r > m.read_up_to)${and(g)}`,
      params: [
        others.map((x) => x.conversationId),
        others.map((x) => x.userId),
        others.map((x) => x.delivered),
        others.map((x) => x.read),
      ],
    })
  parts.push(
    ...standingWrites(s, 'invitations', p.invitations, [
      ['state', 'text', (x) => x.state],
      ['by_user', 'text', (x) => x.by],
      ['seq', 'int8', (x) => x.seq],
      ['at', 'int8', (x) => x.at],
    ]),
    ...standingWrites(s, 'join_requests', p.joinRequests, [
      ['state', 'text', (x) => x.state],
      ['link_id', 'text', (x) => x.link],
      ['by_user', 'text', (x) => x.by],
      ['seq', 'int8', (x) => x.seq],
      ['at', 'int8', (x) => x.at],
    ]),
  )
  if (p.messages.size > 0) {
    const r = [...p.messages.values()]
    const json = (v: unknown) => (v === null ? null : JSON.stringify(v))
    // DO NOTHING also covers the unique client message id: a send retried after the JetStream
    // duplicate window is stored in the log twice but shown once (the first wins). A bulk fill
    // has no unique constraint yet and inserts plainly: bulk-fill.ts applies the rule at its end.
    parts.push({
      sql: (
        g,
      ) => `INSERT INTO ${s}.messages (conversation_id, seq, n, sender_id, device_id, client_msg_id, kind, text,
         media_id, media, at, reply_to, forwarded, edited_at, deleted_at, deleted_by, mentions)
       SELECT * FROM unnest($1::text[], $2::int8[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::text[],
         $8::text[], $9::text[], $10::jsonb[], $11::int8[], $12::jsonb[], $13::int4[], $14::int8[], $15::int8[],
         $16::text[], $17::jsonb[])${where(g)}${o.bulk ? '' : ' ON CONFLICT DO NOTHING'}`,
      params: [
        r.map((x) => x.conversationId),
        r.map((x) => x.seq),
        r.map((x) => x.n),
        r.map((x) => x.senderId),
        r.map((x) => x.deviceId),
        r.map((x) => x.clientMsgId),
        r.map((x) => x.kind),
        r.map((x) => x.text),
        r.map((x) => x.mediaId),
        r.map((x) => json(x.media)),
        r.map((x) => x.at),
        r.map((x) => json(x.replyTo)),
        r.map((x) => x.forwarded),
        r.map((x) => x.editedAt),
        r.map((x) => x.deletedAt),
        r.map((x) => x.deletedBy),
        r.map((x) => json(x.mentions)),
      ],
    })
  }
  parts.push(...messageActionWrites(s, p))
  if (p.media.size > 0) {
    const r = p.media.values()
    const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v))
    parts.push({
      sql: (
        g,
      ) => `INSERT INTO ${s}.media AS m (conversation_id, media_id, kind, mime, size, name, state, variants, width,
         height, duration_ms, placeholder, waveform, failure_code, failure_reason, updated_seq, shared_seq)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::text[],
         $8::jsonb[], $9::int4[], $10::int4[], $11::int4[], $12::text[], $13::jsonb[], $14::text[], $15::text[],
         $16::int8[], $17::int8[])${where(g)}
       ON CONFLICT (conversation_id, media_id) DO UPDATE SET
         kind = COALESCE(excluded.kind, m.kind), mime = COALESCE(excluded.mime, m.mime),
         size = COALESCE(excluded.size, m.size), name = COALESCE(excluded.name, m.name),
         state = CASE WHEN m.state = 'deleted' OR excluded.state = 'pending' THEN m.state ELSE excluded.state END,
         variants = COALESCE(excluded.variants, m.variants), width = COALESCE(excluded.width, m.width),
         height = COALESCE(excluded.height, m.height), duration_ms = COALESCE(excluded.duration_ms, m.duration_ms),
         placeholder = COALESCE(excluded.placeholder, m.placeholder), waveform = COALESCE(excluded.waveform, m.waveform),
         failure_code = COALESCE(excluded.failure_code, m.failure_code),
         failure_reason = COALESCE(excluded.failure_reason, m.failure_reason),
         updated_seq = GREATEST(m.updated_seq, excluded.updated_seq),
         shared_seq = CASE WHEN m.state = 'deleted' OR excluded.state = 'deleted' THEN NULL
           ELSE GREATEST(m.shared_seq, excluded.shared_seq) END`,
      params: [
        r.map((x) => x.conversationId),
        r.map((x) => x.mediaId),
        r.map((x) => x.ref?.kind ?? null),
        r.map((x) => x.ref?.mime ?? null),
        r.map((x) => x.ref?.size ?? null),
        r.map((x) => x.ref?.name ?? null),
        r.map((x) => x.state),
        r.map((x) => json(x.variants)),
        r.map((x) => x.width ?? null),
        r.map((x) => x.height ?? null),
        r.map((x) => x.durationMs ?? null),
        r.map((x) => x.placeholder ?? null),
        r.map((x) => json(x.waveform)),
        r.map((x) => x.failureCode ?? null),
        r.map((x) => x.failureReason ?? null),
        r.map((x) => x.seq),
        r.map((x) => x.sharedSeq ?? null),
      ],
    })
  }
  return parts
}

/**
 * Runs a batch's writes as ONE statement of data-modifying CTEs: one round trip instead of one per
 * table, which is most of a small batch's cost. The writes must touch disjoint rows (a CTE cannot
 * see its siblings' changes), which holds because each table has one write per batch.
 *
 * With a `guard` (a data-modifying statement), it runs first as `w0` and every write is made
 * conditional on its rows: the result is the guard's rows (filtered by `guardWhere`, which may
 * use the guard's parameters), or nothing when the guard wrote nothing, and then nothing was
 * written.
 *
 * A batch's statement has one of a few shapes (which tables it writes), so each shape is a named
 * prepared statement: PostgreSQL parses and plans it once per connection, not once per batch.
 */
export const runWrites = async (
  db: Queryable,
  writes: readonly Write[],
  guard?: Write,
  guardWhere?: string,
): Promise<Record<string, unknown>[]> => {
  const all = guard ? [guard, ...writes] : writes
  if (all.length === 0) return []
  const condition = guard ? 'EXISTS (SELECT 1 FROM w0)' : undefined
  const params: unknown[] = []
  const ctes = all.map(({ sql, params: ps }, i) => {
    const shift = params.length
    params.push(...ps)
    const text = i === 0 && guard ? sql() : sql(condition)
    return `w${i} AS (${text.replace(/\$(\d+)/g, (_, k: string) => `$${Number(k) + shift}`)})`
  })
  const tail = guard ? `* FROM w0${guardWhere ? ` WHERE ${guardWhere}` : ''}` : '1'
  const text = `WITH ${ctes.join(',\n')} SELECT ${tail}`
  const r = await db.query({ name: statementName(text), text, values: literalParams(params) })
  return guard ? r.rows : []
}

const names = new Map<string, string>()
let named = 0
/** A name per statement text, never reused for another text (node-postgres refuses that). */
const statementName = (text: string): string => {
  let name = names.get(text)
  if (name === undefined) {
    // Bounded: scratch schemas (rebuild, verify) bring texts of their own.
    if (names.size >= 1000) names.clear()
    name = `projector_w${++named}`
    names.set(text, name)
  }
  return name
}

/** Dead letters go to their table in the same transaction as the offset that moves past them. */
export const deadLetterWrites = (schema: string, dls: readonly DeadLetter[]): Write[] =>
  dls.length === 0
    ? []
    : [
        {
          sql: (
            g,
          ) => `INSERT INTO ${ident(schema)}.dead_letters (stream, seq, subject, code, reason, payload, at)
     SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[])${where(g)}
     ON CONFLICT DO NOTHING`,
          params: [
            dls.map((d) => d.stream),
            dls.map((d) => d.seq),
            dls.map((d) => d.subject),
            dls.map((d) => d.code),
            dls.map((d) => d.reason),
            dls.map((d) => d.payload),
            dls.map((d) => d.at),
          ],
        },
      ]
