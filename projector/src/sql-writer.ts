import type { DeadLetter, Role } from '@chatapp/contracts'
import type { BatchPlan } from './core/batch-plan.js'
import type { ConvState } from './core/project.js'
import type { MemberRow } from './core/rows.js'
import { ident, type Queryable } from './db.js'

/**
 * Writes a batch plan with one multi-row statement per table (arrays + unnest), so a batch of
 * 500 events costs a handful of round trips, not 500 ORM flushes. Every statement is idempotent:
 * absolute rows upsert, messages and dead letters insert-or-ignore, watermarks take GREATEST.
 */
export const writePlan = async (db: Queryable, schema: string, p: BatchPlan): Promise<void> => {
  const s = ident(schema)
  const parts: [string, unknown[]][] = []
  if (p.conversations.size > 0) {
    const r = [...p.conversations.values()]
    parts.push([
      `INSERT INTO ${s}.conversations (conversation_id, kind, title, created_seq, created_at, last_seq, last_at,
         last_msg_seq, last_n, member_count)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[],
         $8::int8[], $9::int4[], $10::int4[])
       ON CONFLICT (conversation_id) DO UPDATE SET kind = excluded.kind, title = excluded.title,
         last_seq = excluded.last_seq, last_at = excluded.last_at, last_msg_seq = excluded.last_msg_seq,
         last_n = excluded.last_n, member_count = excluded.member_count`,
      [
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
      ],
    ])
  }
  if (p.members.size > 0) {
    const r = [...p.members.values()]
    parts.push([
      `INSERT INTO ${s}.members (conversation_id, user_id, role, active, joined_seq, join_ord, left_seq)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::int8[], $6::int4[], $7::int8[])
       ON CONFLICT (conversation_id, user_id) DO UPDATE SET role = excluded.role, active = excluded.active,
         joined_seq = excluded.joined_seq, join_ord = excluded.join_ord, left_seq = excluded.left_seq`,
      [
        r.map((x) => x.conversationId),
        r.map((x) => x.userId),
        r.map((x) => x.role),
        r.map((x) => x.active),
        r.map((x) => x.joinedSeq),
        r.map((x) => x.joinOrd),
        r.map((x) => x.leftSeq),
      ],
    ])
  }
  if (p.messages.size > 0) {
    const r = [...p.messages.values()]
    // DO NOTHING also covers the unique client message id: a send retried after the JetStream
    // duplicate window is stored in the log twice but shown once (the first wins).
    parts.push([
      `INSERT INTO ${s}.messages (conversation_id, seq, n, sender_id, device_id, client_msg_id, kind, text,
         media_id, media, at)
       SELECT * FROM unnest($1::text[], $2::int8[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::text[],
         $8::text[], $9::text[], $10::jsonb[], $11::int8[])
       ON CONFLICT DO NOTHING`,
      [
        r.map((x) => x.conversationId),
        r.map((x) => x.seq),
        r.map((x) => x.n),
        r.map((x) => x.senderId),
        r.map((x) => x.deviceId),
        r.map((x) => x.clientMsgId),
        r.map((x) => x.kind),
        r.map((x) => x.text),
        r.map((x) => x.mediaId),
        r.map((x) => (x.media ? JSON.stringify(x.media) : null)),
        r.map((x) => x.at),
      ],
    ])
  }
  if (p.media.size > 0) {
    const r = [...p.media.values()]
    const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v))
    parts.push([
      `INSERT INTO ${s}.media AS m (conversation_id, media_id, kind, mime, size, name, state, variants, width,
         height, duration_ms, placeholder, waveform, failure_code, failure_reason, updated_seq)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::text[],
         $8::jsonb[], $9::int4[], $10::int4[], $11::int4[], $12::text[], $13::jsonb[], $14::text[], $15::text[],
         $16::int8[])
       ON CONFLICT (conversation_id, media_id) DO UPDATE SET
         kind = COALESCE(excluded.kind, m.kind), mime = COALESCE(excluded.mime, m.mime),
         size = COALESCE(excluded.size, m.size), name = COALESCE(excluded.name, m.name),
         state = CASE WHEN excluded.state = 'pending' THEN m.state ELSE excluded.state END,
         variants = COALESCE(excluded.variants, m.variants), width = COALESCE(excluded.width, m.width),
         height = COALESCE(excluded.height, m.height), duration_ms = COALESCE(excluded.duration_ms, m.duration_ms),
         placeholder = COALESCE(excluded.placeholder, m.placeholder), waveform = COALESCE(excluded.waveform, m.waveform),
         failure_code = COALESCE(excluded.failure_code, m.failure_code),
         failure_reason = COALESCE(excluded.failure_reason, m.failure_reason),
         updated_seq = GREATEST(m.updated_seq, excluded.updated_seq)`,
      [
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
      ],
    ])
  }
  await runTogether(db, parts)
  // Watermarks last, in a statement of their own: they update member rows that the statement
  // above may have just inserted (a data-modifying CTE cannot see its siblings' rows).
  if (p.watermarks.size > 0) {
    const r = [...p.watermarks.values()]
    await db.query(
      `UPDATE ${s}.members m SET delivered_up_to = GREATEST(m.delivered_up_to, v.d),
         read_up_to = GREATEST(m.read_up_to, v.r)
       FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[]) AS v(c, u, d, r)
       WHERE m.conversation_id = v.c AND m.user_id = v.u`,
      [
        r.map((x) => x.conversationId),
        r.map((x) => x.userId),
        r.map((x) => x.delivered),
        r.map((x) => x.read),
      ],
    )
  }
}

/**
 * Runs independent writes (each to its own table) as ONE statement of data-modifying CTEs: one
 * round trip instead of one per table, which is most of a small batch's cost.
 */
const runTogether = async (db: Queryable, parts: readonly [string, unknown[]][]): Promise<void> => {
  if (parts.length === 0) return
  if (parts.length === 1) {
    await db.query(parts[0]![0], parts[0]![1])
    return
  }
  const params: unknown[] = []
  const ctes = parts.map(([sql, ps], i) => {
    const shift = params.length
    params.push(...ps)
    return `w${i} AS (${sql.replace(/\$(\d+)/g, (_, k: string) => `$${Number(k) + shift}`)})`
  })
  await db.query(`WITH ${ctes.join(',\n')} SELECT 1`, params)
}

export const writeDeadLetters = async (
  db: Queryable,
  schema: string,
  dls: readonly DeadLetter[],
): Promise<void> => {
  if (dls.length === 0) return
  await db.query(
    `INSERT INTO ${ident(schema)}.dead_letters (stream, seq, subject, code, reason, payload, at)
     SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[])
     ON CONFLICT DO NOTHING`,
    [
      dls.map((d) => d.stream),
      dls.map((d) => d.seq),
      dls.map((d) => d.subject),
      dls.map((d) => d.code),
      dls.map((d) => d.reason),
      dls.map((d) => d.payload),
      dls.map((d) => d.at),
    ],
  )
}

export const readOffset = async (db: Queryable, schema: string, shard: number): Promise<number> => {
  const r = await db.query<{ last_seq: number }>(
    `SELECT last_seq FROM ${ident(schema)}.projector_offsets WHERE shard = $1`,
    [shard],
  )
  return r.rows[0]?.last_seq ?? 0
}

/** The offset upsert with its integers inlined, so it can share one round trip with COMMIT. */
export const offsetSql = (schema: string, shard: number, lastSeq: number, lastAt: number): string => {
  for (const v of [shard, lastSeq, lastAt])
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`offset value ${v} is not a safe integer`)
  return `INSERT INTO ${ident(schema)}.projector_offsets (shard, last_seq, last_at, updated_at)
    VALUES (${shard}, ${lastSeq}, ${lastAt}, now())
    ON CONFLICT (shard) DO UPDATE SET last_seq = GREATEST(projector_offsets.last_seq, excluded.last_seq),
      last_at = excluded.last_at, updated_at = now()`
}

export const writeOffset = async (
  db: Queryable,
  schema: string,
  shard: number,
  lastSeq: number,
  lastAt: number,
): Promise<void> => {
  await db.query(
    `INSERT INTO ${ident(schema)}.projector_offsets (shard, last_seq, last_at, updated_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (shard) DO UPDATE SET last_seq = GREATEST(projector_offsets.last_seq, excluded.last_seq),
       last_at = excluded.last_at, updated_at = now()`,
    [shard, lastSeq, lastAt],
  )
}

/**
 * The projection state of the given conversations, as the views hold it: one round trip (the
 * active members come along as a JSON array per conversation).
 */
export const loadStates = async (
  db: Queryable,
  schema: string,
  ids: readonly string[],
): Promise<Map<string, ConvState>> => {
  const out = new Map<string, ConvState>()
  if (ids.length === 0) return out
  const s = ident(schema)
  const convs = await db.query(
    `SELECT c.conversation_id, c.kind, c.title, c.created_seq, c.created_at, c.last_seq, c.last_at,
       c.last_msg_seq, c.last_n, c.member_count,
       (SELECT json_agg(json_build_array(m.user_id, m.role, m.joined_seq, m.join_ord))
        FROM ${s}.members m WHERE m.conversation_id = c.conversation_id AND m.active) AS members
     FROM ${s}.conversations c WHERE c.conversation_id = ANY($1::text[])`,
    [ids],
  )
  for (const c of convs.rows) {
    const members = new Map<string, MemberRow>()
    for (const [userId, role, joinedSeq, joinOrd] of (c.members ?? []) as [string, Role, number, number][])
      members.set(userId, {
        conversationId: c.conversation_id,
        userId,
        role,
        active: true,
        joinedSeq: Number(joinedSeq),
        joinOrd: Number(joinOrd),
        leftSeq: null,
      })
    out.set(c.conversation_id, {
      row: {
        conversationId: c.conversation_id,
        kind: c.kind,
        title: c.title,
        createdSeq: c.created_seq,
        createdAt: c.created_at,
        lastSeq: c.last_seq,
        lastAt: c.last_at,
        lastMsgSeq: c.last_msg_seq,
        lastN: c.last_n,
        memberCount: c.member_count,
      },
      members,
    })
  }
  return out
}
