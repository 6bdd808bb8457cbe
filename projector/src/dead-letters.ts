import { type DeadLetterEntity, DeadLetterSchema } from './entities.js'
import type { Orm } from './orm.js'

export interface DeadLetterRow {
  stream: string
  seq: number
  subject: string
  code: string
  reason: string
  at: string
}

/** The newest dead letters first, read through the ORM (a low-rate operator read). */
export const listDeadLetters = async (orm: Orm, limit = 100): Promise<DeadLetterRow[]> => {
  const em = orm.em.fork()
  const rows: DeadLetterEntity[] = await em.find(
    DeadLetterSchema,
    {},
    { orderBy: { at: 'desc', seq: 'desc' }, limit },
  )
  return rows.map((r) => ({
    stream: r.stream,
    seq: Number(r.seq),
    subject: r.subject,
    code: r.code,
    reason: r.reason,
    at: new Date(Number(r.at)).toISOString(),
  }))
}
