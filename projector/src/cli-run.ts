import { parseArgs } from 'node:util'
import { ConversationId, isViewName, names, VIEW_NAMES } from '@chatapp/contracts'
import {
  ConfigReader,
  connectNats,
  createArchiveReader,
  createLogger,
  readCommon,
  readS3,
  s3ArchiveStore,
  s3ClientOf,
} from '@chatapp/kit'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { archiveStatus } from './archive/archive-status.js'
import { verifyArchive } from './archive/archive-verify.js'
import type { ArchiveSource } from './archived-log-reader.js'
import { runAudit } from './audit/audit-command.js'
import { DEFAULT_BOUNDS } from './audit/findings.js'
import { openPool } from './db.js'
import { listDeadLetters } from './dead-letters.js'
import { lag } from './lag.js'
import { openOrm } from './orm.js'
import { pushTargetsReport, shortEndpoint } from './push-targets-report.js'
import { rebuild } from './rebuild.js'
import { type ReplayLine, replay } from './replay.js'
import { formatAge, progressLine, renderTable } from './table-format.js'
import { verify } from './verify.js'

export interface CliIo {
  out(s: string): void
  err(s: string): void
  /** Progress bars are drawn only on a terminal. */
  isTTY: boolean
  env: Record<string, string | undefined>
  /** Ends a long-running command (a continuous audit): SIGINT / SIGTERM in the CLI. */
  signal?: AbortSignal
}

export const USAGE = `chatapp-ops: operate the projector's views

usage: chatapp-ops <command> [options]        (or: node projector/dist/cli.js …)

commands:
  replay <conversation> [--from-seq N | --since TIME]
                         the conversation's events in order: seq, time, type, actor, summary
  rebuild [--view NAME]  rebuild the views from sequence 1 into fresh tables while the live
                         views keep serving, then switch over (NAME: ${VIEW_NAMES.join(', ')})
  lag                    per projector consumer: pending events and the age of the oldest
  verify [--conversation ID]
                         recompute the views from the log and report every difference
                         (exit status 1 when there is one)
  archive status         per shard: archived up to, hot from, segments, bytes, lag
  archive verify         read every archive segment: checksums, records, sequence continuity
                         from 1 to the stream's first sequence (exit status 1 on a problem)
  dead-letters [--limit N]
                         events the projector could not apply, newest first
  push-targets <user id> | --dead [--limit N]
                         a user's push targets (live and dead, with failures), or every
                         dead target (404/410 from its push service, or failing too often)
  audit [--once] [--full] [--sample N] [--interval S] [--limit N]
        [--max-notices N] [--max-dead-letters N] [--max-lag-seconds S]
                         check the log's invariants (dense n, each send once, receipts),
                         the views against the log (a sample of conversations per pass, all
                         with --full), dead letters and lag. Continuous by default: a pass
                         every --interval seconds (30), metrics on AUDIT_OPS_PORT; --once:
                         one pass, exit status 1 when it is not clean (docs/operators.md)

options:
  --json                 machine-readable output (one JSON document) instead of tables
  --batch N              events per transaction for rebuild/verify (default 2000)
  -h, --help             this help

replay, rebuild, verify and audit read history older than the hot log from the archive (S3).

environment: CHATAPP_NS, CHATAPP_SHARDS, NATS_URL, DATABASE_URL, S3_* (see README).
exit status: 0 ok, 1 differences found (verify), not clean (audit) or problems (archive verify),
2 usage error, 3 failure.`

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'from-seq': { type: 'string' },
  since: { type: 'string' },
  view: { type: 'string' },
  conversation: { type: 'string' },
  limit: { type: 'string' },
  batch: { type: 'string' },
  once: { type: 'boolean' },
  full: { type: 'boolean' },
  sample: { type: 'string' },
  interval: { type: 'string' },
  'max-notices': { type: 'string' },
  'max-dead-letters': { type: 'string' },
  'max-lag-seconds': { type: 'string' },
  dead: { type: 'boolean' },
} as const

class UsageError extends Error {}

const CONV = new RegExp(ConversationId.pattern!)
const positiveInt = (name: string, v: string | undefined, def: number, min = 1): number => {
  if (v === undefined) return def
  const n = Number(v)
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be ${min === 0 ? 'a whole number' : 'a positive integer'}`)
  return n
}

/** Runs one CLI command; returns the exit status. Never calls process.exit (testable in-process). */
export const runCli = async (argv: string[], io: CliIo): Promise<number> => {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (e) {
    io.err(`${(e as Error).message}\n\n${USAGE}\n`)
    return 2
  }
  const { values: v, positionals } = parsed
  const [command, ...rest] = positionals
  if (v.help || command === undefined || command === 'help') {
    io.out(`${USAGE}\n`)
    return command === undefined && !v.help ? 2 : 0
  }
  const c = new ConfigReader(io.env)
  const common = readCommon(c)
  const auditPort = c.int('AUDIT_OPS_PORT', 0, 65535)
  const s3 = readS3(c)
  c.done()
  const n = names(common.ns, common.shards)
  const s3client = s3ClientOf(s3)
  const store = s3ArchiveStore(s3client, n.archiveBucket)
  const shardOfStream = new Map(Array.from({ length: n.shards }, (_, i) => [n.convStream(i), i]))
  const archive: ArchiveSource = {
    reader: createArchiveReader(store),
    shardOf: (stream) => shardOfStream.get(stream) ?? -1,
  }
  const log = createLogger('chatapp-ops', 'silent')
  const batch = (() => {
    try {
      return positiveInt('batch', v.batch, 2000)
    } catch {
      return -1
    }
  })()
  const json = v.json === true
  const print = (value: unknown, table: () => string) =>
    io.out(`${json ? JSON.stringify(value, null, 2) : table()}\n`)
  let lastDraw = 0
  const progress = (done: number, total: number, startedAt: number) => {
    if (!io.isTTY || json) return
    const now = Date.now()
    if (now - lastDraw < 100 && done < total) return
    lastDraw = now
    io.err(`\r${progressLine(done, total, done / Math.max(0.001, (now - startedAt) / 1000))}`)
  }

  try {
    if (batch < 0) throw new UsageError('--batch must be a positive integer')
    if (
      !['replay', 'rebuild', 'lag', 'verify', 'dead-letters', 'audit', 'push-targets', 'archive'].includes(
        command,
      )
    )
      throw new UsageError(`unknown command "${command}"`)
    if (command === 'replay') {
      const id = rest[0]
      if (!id || !CONV.test(id)) throw new UsageError('replay needs a conversation id (c_… or d_…)')
      if (v['from-seq'] !== undefined && v.since !== undefined)
        throw new UsageError('use --from-seq or --since, not both')
      const fromSeq = v['from-seq'] !== undefined ? positiveInt('from-seq', v['from-seq'], 1) : undefined
      const since = v.since !== undefined ? new Date(v.since) : undefined
      if (since && Number.isNaN(since.getTime()))
        throw new UsageError('--since must be a date/time (ISO 8601)')
      const nc = await connectNats(common.natsUrl, 'chatapp-ops', log)
      try {
        const lines: ReplayLine[] = []
        for await (const l of replay(
          jetstream(nc),
          await jetstreamManager(nc),
          n,
          id,
          {
            ...(fromSeq !== undefined ? { fromSeq } : {}),
            ...(since ? { since } : {}),
          },
          archive,
        ))
          lines.push(l)
        print(lines, () =>
          lines.length === 0
            ? `no events for ${id}`
            : renderTable(
                ['seq', 'time', 'type', 'actor', 'summary'],
                lines.map((l) => [l.seq, l.time, l.type, l.actor, l.summary]),
              ),
        )
      } finally {
        await nc.close()
      }
      return 0
    }
    if (command === 'archive') {
      const sub = rest[0]
      if (sub !== 'status' && sub !== 'verify') throw new UsageError('archive needs status or verify')
      const nc = await connectNats(common.natsUrl, 'chatapp-ops', log)
      try {
        const jsm = await jetstreamManager(nc)
        if (sub === 'status') {
          const rows = await archiveStatus(jsm, store, n)
          print(rows, () =>
            renderTable(
              [
                'shard',
                'archived to',
                'hot from',
                'last seq',
                'segments',
                'archive bytes',
                'lag',
                'oldest unarchived',
              ],
              rows.map((r) => [
                r.shard,
                r.archivedTo,
                r.hotFrom,
                r.lastSeq,
                r.segments,
                r.bytes,
                r.lagEvents,
                formatAge(r.lagSeconds),
              ]),
            ),
          )
          return 0
        }
        const r = await verifyArchive(jsm, store, n)
        print(r, () => {
          const total = r.shards.reduce((a, s) => ({ seg: a.seg + s.segments, ev: a.ev + s.events }), {
            seg: 0,
            ev: 0,
          })
          const head = `verified ${total.seg} segments, ${total.ev} events, ${r.shards.length} shards`
          if (r.problems.length === 0) return `${head}\nno problems`
          return `${head}\n${r.problems.length} problem(s):\n${renderTable(
            ['shard', 'segment', 'problem', 'detail'],
            r.problems.map((p) => [p.shard, p.key, p.kind, p.detail]),
          )}`
        })
        return r.problems.length > 0 ? 1 : 0
      } finally {
        await nc.close()
      }
    }
    if (command === 'dead-letters') {
      const limit = positiveInt('limit', v.limit, 100)
      const orm = await openOrm(common.databaseUrl, n.dbSchemas.views, 1)
      try {
        const rows = await listDeadLetters(orm, limit)
        print(rows, () =>
          rows.length === 0
            ? 'no dead letters'
            : renderTable(
                ['at', 'stream', 'seq', 'code', 'reason'],
                rows.map((r) => [r.at, r.stream, r.seq, r.code, r.reason]),
              ),
        )
      } finally {
        await orm.close()
      }
      return 0
    }
    if (command === 'push-targets') {
      const userId = rest[0]
      if ((userId === undefined) === (v.dead !== true))
        throw new UsageError('push-targets needs a user id, or --dead (not both)')
      const limit = positiveInt('limit', v.limit, 500)
      const pool = openPool(common.databaseUrl, 1, log)
      try {
        const rows = await pushTargetsReport(
          pool,
          n.dbSchemas.gateway,
          userId !== undefined ? { userId } : { dead: true },
          limit,
        )
        const time = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
        print(rows, () =>
          rows.length === 0
            ? 'no push targets'
            : renderTable(
                ['id', 'user', 'device', 'kind', 'endpoint', 'created', 'failures', 'dead', 'reason'],
                rows.map((r) => [
                  r.id,
                  r.userId,
                  r.deviceId,
                  r.kind,
                  shortEndpoint(r.endpoint),
                  time(r.createdAt),
                  r.failures,
                  time(r.deadAt),
                  r.deadReason ?? r.lastError,
                ]),
              ),
        )
      } finally {
        await pool.end()
      }
      return 0
    }
    if (v.view !== undefined && !isViewName(v.view))
      throw new UsageError(`--view must be one of ${VIEW_NAMES.join(', ')}`)
    if (v.conversation !== undefined && !CONV.test(v.conversation))
      throw new UsageError('--conversation must be a conversation id (c_… or d_…)')
    const auditOptions = {
      once: v.once === true,
      full: v.full === true,
      json,
      sample: positiveInt('sample', v.sample, 10, 0),
      intervalS: positiveInt('interval', v.interval, 30),
      limit: positiveInt('limit', v.limit, 50),
      bounds: {
        maxNotices: positiveInt('max-notices', v['max-notices'], DEFAULT_BOUNDS.maxNotices, 0),
        maxDeadLetters: positiveInt(
          'max-dead-letters',
          v['max-dead-letters'],
          DEFAULT_BOUNDS.maxDeadLetters,
          0,
        ),
        maxLagSeconds: positiveInt('max-lag-seconds', v['max-lag-seconds'], DEFAULT_BOUNDS.maxLagSeconds, 0),
      },
    }
    const nc = await connectNats(common.natsUrl, 'chatapp-ops', log)
    const pool = openPool(common.databaseUrl, 6, log)
    try {
      const js = jetstream(nc)
      const jsm = await jetstreamManager(nc)
      if (command === 'audit')
        return await runAudit(
          {
            nc,
            js,
            jsm,
            pool,
            databaseUrl: common.databaseUrl,
            names: n,
            batch,
            archive,
            ops: { host: common.opsHost, port: auditPort },
            log: createLogger('audit', v.once ? 'silent' : 'warn'),
            out: io.out,
            ...(io.signal ? { signal: io.signal } : {}),
          },
          auditOptions,
        )
      if (command === 'lag') {
        const rows = await lag(jsm, pool, n)
        print(rows, () =>
          renderTable(
            ['consumer', 'stream', 'last seq', 'applied', 'pending', 'oldest pending'],
            rows.map((r) => [
              r.exists ? r.consumer : `${r.consumer} (missing)`,
              r.stream,
              r.lastSeq,
              r.appliedSeq,
              r.pending,
              formatAge(r.oldestAgeSeconds),
            ]),
          ),
        )
        return 0
      }
      if (command === 'rebuild') {
        const startedAt = Date.now()
        const r = await rebuild({
          js,
          jsm,
          pool,
          databaseUrl: common.databaseUrl,
          names: n,
          batch,
          archive,
          ...(v.view && isViewName(v.view) ? { view: v.view } : {}),
          onProgress: (p) => progress(p.events, p.total, startedAt),
        })
        if (io.isTTY && !json) io.err('\n')
        const rate = r.events / Math.max(r.seconds, 0.001)
        print({ ...r, view: v.view ?? 'all', eventsPerSecond: Math.round(rate) }, () =>
          [
            `rebuilt ${v.view ?? 'all views'} of ${n.dbSchemas.views} from ${r.events} events in ${r.seconds.toFixed(1)}s (${Math.round(rate)} events/s)`,
            `switched over at offsets ${r.offsets.map((o, i) => `${i}:${o}`).join(' ')}`,
          ].join('\n'),
        )
        return 0
      }
      // verify
      const startedAt = Date.now()
      const r = await verify({
        js,
        jsm,
        pool,
        databaseUrl: common.databaseUrl,
        names: n,
        batch,
        archive,
        ...(v.conversation ? { conversationId: v.conversation } : {}),
        onProgress: (events) => progress(events, events, startedAt),
      })
      if (io.isTTY && !json) io.err('\n')
      print(r, () => {
        const head = `verified ${v.conversation ?? 'all conversations'} against ${r.events} events at offsets ${r.offsets.map((o, i) => `${i}:${o}`).join(' ')}`
        if (r.differences.length === 0) return `${head}\nno differences`
        return `${head}\n${r.differences.length} difference(s):\n${renderTable(
          ['view', 'key', 'problem', 'columns (view ≠ log)'],
          r.differences.map((d) => [
            d.view,
            Object.values(d.key).join('/'),
            d.kind,
            d.columns
              ? Object.entries(d.columns)
                  .map(([k, [a, b]]) => `${k}: ${JSON.stringify(a)} ≠ ${JSON.stringify(b)}`)
                  .join('; ')
              : '',
          ]),
        )}`
      })
      return r.differences.length > 0 ? 1 : 0
    } finally {
      await pool.end()
      await nc.close()
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message}\n\nrun with --help for usage\n`)
      return 2
    }
    io.err(`${command} failed: ${(e as Error).message}\n`)
    return 3
  } finally {
    s3client.destroy()
  }
}
