import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { fnv1a32, mediaKeys, VIEW_TABLES } from '@chatapp/contracts'
import type { Logger } from '@chatapp/kit'
import type { MikroORM } from '@mikro-orm/postgresql'
import { sharesTable } from './media-repo.js'
import { utcDay } from './upload-quota.js'

/** Advisory lock class (first key) of the upload sweeper; the second key hashes the schema. */
export const LOCK_UPLOAD_SWEEP = 0x63_68_31

/**
 * An upload still in progress after this long is taken for dead (its gateway died, or the client
 * trickles): its reservation ends and whatever it stored is deleted. 100 MiB in 3 h is 10 KB/s.
 */
export const PENDING_MAX_AGE_MS = 3 * 3600_000

/**
 * How far behind the log the views may be for "no message carries this upload" to be trusted. A
 * message can attach an upload until ATTACH_MARGIN_MS (10 min) before it expires, so a message of
 * an expired upload was appended 10 minutes ago or more: views holding every event up to 5
 * minutes ago hold it, with 5 minutes to spare for writers' clocks.
 */
export const VIEWS_CURRENT_WITHIN_MS = 5 * 60_000

/**
 * Whether the views hold every event appended before `now - withinMs`, per shard: the shard's
 * offset reached the stream's last sequence (`heads`), or the last event it applied was written
 * after that time (events of a shard are applied in log order). Pure.
 */
export const viewsCurrent = (
  offsets: ReadonlyMap<number, { lastSeq: number; lastAt: number }>,
  heads: readonly number[],
  now: number,
  withinMs = VIEWS_CURRENT_WITHIN_MS,
): boolean =>
  heads.every((head, shard) => {
    const o = offsets.get(shard) ?? { lastSeq: 0, lastAt: 0 }
    return o.lastSeq >= head || o.lastAt >= now - withinMs
  })

export interface SweepDeps {
  orm: MikroORM
  schema: string
  /** The projector's views, where "shared" is read (media.shared_seq). */
  viewsSchema: string
  /** The last sequence of each shard stream, by shard (JetStream). */
  logHeads: () => Promise<number[]>
  s3: S3Client
  bucket: string
  /** An upload no message carries is deleted this long after it was stored. */
  unattachedTtlMs: number
  pendingMaxAgeMs?: number
  /** Rows handled per pass, at most (the next pass takes the rest). */
  batch?: number
  now?: () => number
}

export interface SweepResult {
  /** Another gateway held the sweep lock: this one did nothing. */
  skipped: boolean
  /**
   * The views lag the log (a projector down or far behind): unattached uploads were not expired
   * this pass, since a message carrying one may not be in the views yet.
   */
  viewsBehind: boolean
  expired: string[]
  abandoned: string[]
  /** Media withdrawn by a delete for everyone (ADR 0212): objects and record deleted. */
  withdrawn: string[]
}

/**
 * One pass of the upload sweeper. Safe with any number of gateways: the pass runs in one
 * transaction under a transaction-scoped advisory lock taken with `pg_try_…`, so at most one
 * gateway sweeps at a time and the others skip (nothing to wait for; the next interval comes).
 * Rows are locked `FOR UPDATE` while their objects are deleted (an upload completing or a
 * second pass waits). "Unattached" is read from the projector's views (ADR 0150), so it is
 * trusted only when the views are current (`viewsCurrent`): a send cannot attach an upload in its
 * last ATTACH_MARGIN_MS, so every message of an expired upload is older than that, and views
 * current to within VIEWS_CURRENT_WITHIN_MS hold it. While they lag, nothing expires.
 * Objects go before rows: a pass that dies in between leaves rows that the next pass deletes
 * again (deleting a missing object is a no-op), never objects without a row.
 *
 * Three things are swept: unattached uploads older than the TTL (objects and row); reservations
 * of uploads in progress for longer than `pendingMaxAgeMs` (and any object they stored); daily
 * counters older than yesterday.
 */
export const sweepUploads = async (d: SweepDeps): Promise<SweepResult> => {
  const now = (d.now ?? Date.now)()
  const batch = d.batch ?? 100
  const t = (name: string) => `"${d.schema}".${name}`
  // Read before the views' offsets: the views must have reached what the log held by then.
  const heads = await d.logHeads()
  return d.orm.em.fork().transactional(async (em) => {
    const conn = em.getConnection()
    const ctx = em.getTransactionContext()
    const q = <T>(sql: string, params: unknown[] = []) =>
      conn.execute(sql, params, 'all', ctx) as Promise<T[]>
    const [lock] = await q<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(?, ?) AS ok', [
      LOCK_UPLOAD_SWEEP,
      fnv1a32(d.schema) | 0,
    ])
    if (!lock?.ok) return { skipped: true, viewsBehind: false, expired: [], abandoned: [], withdrawn: [] }

    const offsetsTable = `"${d.viewsSchema}".${VIEW_TABLES.offsets}`
    const [views] = await q<{ t: string | null }>('SELECT to_regclass(?) AS t', [offsetsTable])
    const offsets = new Map<number, { lastSeq: number; lastAt: number }>()
    if (views?.t)
      for (const r of await q<{ shard: number; last_seq: string; last_at: string }>(
        `SELECT shard, last_seq, last_at FROM ${offsetsTable}`,
      ))
        offsets.set(Number(r.shard), { lastSeq: Number(r.last_seq), lastAt: Number(r.last_at) })
    const current = views?.t != null && viewsCurrent(offsets, heads, now)
    const expired = current
      ? (
          await q<{ id: string }>(
            `SELECT m.id FROM ${t('media')} m WHERE m.created_at < ?
               AND NOT EXISTS (SELECT 1 FROM ${sharesTable(d.viewsSchema)} s
                               WHERE s.media_id = m.id AND s.shared_seq IS NOT NULL)
             ORDER BY m.created_at LIMIT ? FOR UPDATE OF m SKIP LOCKED`,
            [now - d.unattachedTtlMs, batch],
          )
        ).map((r) => r.id)
      : []
    // Withdrawn: a message carrying it was deleted for everyone and none carries it now. Read from
    // the views as "unattached" is, so only while they are current (a forward of it may be newer).
    const withdrawn = current
      ? (
          await q<{ id: string }>(
            `SELECT m.id FROM ${t('media')} m
             WHERE EXISTS (SELECT 1 FROM ${sharesTable(d.viewsSchema)} s WHERE s.media_id = m.id AND s.state = 'deleted')
               AND NOT EXISTS (SELECT 1 FROM ${sharesTable(d.viewsSchema)} s
                               WHERE s.media_id = m.id AND s.shared_seq IS NOT NULL)
             ORDER BY m.created_at LIMIT ? FOR UPDATE OF m SKIP LOCKED`,
            [batch],
          )
        )
          .map((r) => r.id)
          .filter((id) => !expired.includes(id))
      : []
    const abandoned = (
      await q<{ media_id: string }>(
        `SELECT media_id FROM ${t('upload_pending')} WHERE started_at < ?
         ORDER BY started_at LIMIT ? FOR UPDATE SKIP LOCKED`,
        [now - (d.pendingMaxAgeMs ?? PENDING_MAX_AGE_MS), batch],
      )
    ).map((r) => r.media_id)

    for (const id of [...expired, ...withdrawn, ...abandoned]) await deletePrefix(d.s3, d.bucket, id)
    const list = (ids: string[]) => ids.map(() => '?').join(', ')
    const gone = [...expired, ...withdrawn]
    if (gone.length > 0) await q(`DELETE FROM ${t('media')} WHERE id IN (${list(gone)})`, gone)
    if (abandoned.length > 0)
      await q(`DELETE FROM ${t('upload_pending')} WHERE media_id IN (${list(abandoned)})`, abandoned)
    await q(`DELETE FROM ${t('upload_days')} WHERE day < ?`, [utcDay(now) - 1])
    return { skipped: false, viewsBehind: !current, expired, abandoned, withdrawn }
  })
}

/** Every object of a media: its original, and variants if a job ever made any. */
const deletePrefix = async (s3: S3Client, bucket: string, mediaId: string): Promise<void> => {
  const prefix = mediaKeys.original(mediaId).replace(/original$/, '')
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))
  const keys = (listed.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []))
  if (keys.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }))
}

/**
 * Runs `sweepUploads` every `intervalMs` (with jitter, so gateways started together do not all
 * try at once) until stopped. A failing pass is logged and retried at the next interval: the
 * sweeper never stops the gateway.
 */
export const startUploadSweeper = (
  d: SweepDeps & { intervalMs: number; log: Logger },
): { stop(): Promise<void> } => {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> = Promise.resolve()
  let stopped = false
  const schedule = () => {
    if (stopped) return
    timer = setTimeout(tick, d.intervalMs * (0.75 + Math.random() / 2))
    timer.unref()
  }
  const tick = () => {
    running = sweepUploads(d)
      .then((r) => {
        if (r.expired.length + r.abandoned.length + r.withdrawn.length > 0)
          d.log.info(
            { expired: r.expired.length, abandoned: r.abandoned.length, withdrawn: r.withdrawn.length },
            'expired and withdrawn uploads deleted',
          )
        if (r.viewsBehind)
          d.log.warn('unattached uploads not expired: the projector views lag the log (chatapp-ops lag)')
      })
      .catch((err: unknown) => d.log.warn({ err }, 'upload sweep failed; retried at the next interval'))
      .finally(schedule)
  }
  schedule()
  return {
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await running
    },
  }
}
