import type { Names } from '@chatapp/contracts'
import { type Logger, natsConnectionMetrics, natsUp, startOpsServer } from '@chatapp/kit'
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import type pg from 'pg'
import type { ArchiveSource } from '../archived-log-reader.js'
import { renderTable } from '../table-format.js'
import { createAuditMetrics } from './audit-metrics.js'
import { type AuditReport, createAuditor } from './auditor.js'
import type { Bounds } from './findings.js'

export interface AuditCommandOptions {
  once: boolean
  full: boolean
  json: boolean
  sample: number
  intervalS: number
  limit: number
  bounds: Bounds
}

export interface AuditCommandDeps {
  nc: NatsConnection
  js: JetStreamClient
  jsm: JetStreamManager
  pool: pg.Pool
  databaseUrl: string
  names: Names
  batch: number
  /** History older than the streams (ADR 0201). */
  archive?: ArchiveSource
  ops: { host: string; port: number }
  log: Logger
  out(s: string): void
  /** Ends a continuous audit (SIGINT / SIGTERM in the CLI). */
  signal?: AbortSignal
}

/** The report as an operator reads it on a terminal. Pure. */
export const formatReport = (r: AuditReport, limit: number): string => {
  const head = [
    `audited ${r.conversations} conversation(s), ${r.events} event(s), ${r.messages} message(s) in ${r.seconds.toFixed(1)} s; views of ${r.views.full ? 'every conversation' : `${r.views.checked} conversation(s)`} compared with the log`,
    `dead letters ${r.deadLetters.total}; events not yet applied ${r.lag.reduce((a, l) => a + l.pending, 0)}`,
    r.clean ? 'clean' : `NOT CLEAN: ${r.reasons.join('; ')}`,
  ]
  if (r.findings.length === 0) return head.join('\n')
  const shown = r.findings.slice(0, limit)
  const counts = Object.entries(r.counts)
    .map(([c, k]) => `${c} ${k}`)
    .join(', ')
  return [
    ...head,
    `findings: ${counts}`,
    renderTable(
      ['code', 'severity', 'conversation', 'seq', 'detail'],
      shown.map((f) => [
        f.code,
        f.severity,
        f.conversationId ?? (f.shard !== undefined ? `shard ${f.shard}` : ''),
        f.seq,
        f.detail,
      ]),
    ),
    ...(r.findings.length > shown.length ? [`… ${r.findings.length - shown.length} more (--limit)`] : []),
  ].join('\n')
}

const until = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done)
  })

/**
 * `chatapp-ops audit`. Once: one pass, the report, exit status 0 when clean and 1 when not.
 * Continuous (the default): a pass every interval until the signal, with the findings exported
 * on `/metrics` of its own ops server and one line per pass on stdout; a pass that fails (NATS or
 * PostgreSQL away) is counted and retried at the next interval, never the end of the audit.
 */
export const runAudit = async (d: AuditCommandDeps, o: AuditCommandOptions): Promise<number> => {
  const auditor = createAuditor({ ...d, bounds: o.bounds, sample: o.sample })
  const show = (r: AuditReport) =>
    o.json
      ? JSON.stringify({ ...r, findings: r.findings.slice(0, o.limit) }, null, o.once ? 2 : undefined)
      : formatReport(r, o.limit)
  if (o.once) {
    const r = await auditor.pass({ full: o.full })
    d.out(`${show(r)}\n`)
    return r.clean ? 0 : 1
  }
  const ops = await startOpsServer({
    service: 'audit',
    host: d.ops.host,
    port: d.ops.port,
    log: d.log,
    checks: { nats: natsUp(d.nc), postgres: () => d.pool.query('SELECT 1').then(() => true) },
  })
  const metrics = createAuditMetrics(ops.registry)
  natsConnectionMetrics(d.nc, ops.registry)
  try {
    while (!d.signal?.aborted) {
      try {
        const r = await auditor.pass({ full: o.full })
        metrics.record(r)
        d.out(
          o.json
            ? `${show(r)}\n`
            : `${new Date().toISOString()} ${formatReport(r, o.limit).replaceAll('\n', '\n  ')}\n`,
        )
      } catch (err) {
        metrics.passFailed()
        d.log.error({ err: (err as Error).message }, 'audit pass failed; trying again at the next interval')
      }
      await until(o.intervalS * 1000, d.signal)
    }
  } finally {
    ops.setDraining()
    await ops.close()
  }
  return 0
}
