import { lastSeq } from '@chatapp/domain'
import { boundFindings, type Projection, readProjection } from './bounds.js'
import { type Bounds, type Counts, type Finding, judge } from './findings.js'
import { createLogPass } from './log-pass.js'
import {
  compareWithLog,
  readWatermarks,
  rejectedShown,
  type ViewCheckDeps,
  watermarkFindings,
} from './view-checks.js'

export interface AuditorOptions extends ViewCheckDeps {
  bounds: Bounds
  /** Conversations whose views a pass compares with the log when it is not full. */
  sample: number
  /** Kept of the log's findings for the report (they are all counted). */
  keep?: number
  random?: () => number
}

export interface AuditReport {
  at: string
  seconds: number
  conversations: number
  events: number
  messages: number
  views: { full: boolean; checked: number }
  deadLetters: Projection['deadLetters']
  lag: { stream: string; pending: number; oldestAgeSeconds: number }[]
  /** Findings by code: the log's since sequence 1, the views' as last checked, the bounds' now. */
  counts: Counts
  violations: number
  notices: number
  clean: boolean
  /** Why the pass is not clean. */
  reasons: string[]
  findings: Finding[]
}

export interface Auditor {
  /** One pass: the log since the last pass, the views of a sample (or all), dead letters, lag. */
  pass(o?: { full?: boolean }): Promise<AuditReport>
}

const countOf = (c: Counts, f: Finding) => {
  c[f.code] = (c[f.code] ?? 0) + 1
}

/** `k` distinct items of `xs`, uniformly (a partial Fisher–Yates shuffle). */
const pick = <T>(xs: readonly T[], k: number, random: () => number): T[] => {
  const a = [...xs]
  const n = Math.min(k, a.length)
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (a.length - i))
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a.slice(0, n)
}

/**
 * The invariant checker behind `chatapp-ops audit`. The log is read once, incrementally, pass
 * after pass; the views are checked a sample of conversations at a time (or all, on demand),
 * and each conversation's view findings stand until it is checked again; dead letters and lag
 * are read anew each pass.
 */
export const createAuditor = (o: AuditorOptions): Auditor => {
  const log = createLogPass(o)
  const keep = o.keep ?? 1000
  const logCounts: Counts = {}
  const logKept: Finding[] = []
  const viewFindings = new Map<string, Finding[]>()
  const previous = new Map<string, { delivered: number; read: number }>()
  const random = o.random ?? Math.random
  const schema = o.names.dbSchemas.views

  const readLog = async () => {
    for (const f of await log.advance()) {
      countOf(logCounts, f)
      if (logKept.length < keep) logKept.push(f)
    }
  }

  return {
    async pass(p = {}) {
      const started = performance.now()
      await readLog()
      const full = p.full === true
      const ids = full ? undefined : pick([...log.conversations.keys()], o.sample, random)
      // The views' watermarks first, then the log again: every sequence they show is in the log read.
      const marks = await readWatermarks(o.pool, schema, ids)
      await readLog()
      const byConversation = new Map<string, Finding[]>()
      if (full) viewFindings.clear()
      for (const id of ids ?? []) byConversation.set(id, [])
      const add = (f: Finding) => {
        const id = f.conversationId ?? ''
        byConversation.set(id, [...(byConversation.get(id) ?? []), f])
      }
      const lastOf = (id: string) => {
        const a = log.conversations.get(id)
        return a ? lastSeq(a.state) : undefined
      }
      for (const f of watermarkFindings(marks, lastOf, previous)) add(f)
      for (const f of await compareWithLog(o, ids)) add(f)
      for (const [id, fs] of byConversation)
        if (fs.length > 0) viewFindings.set(id, fs)
        else viewFindings.delete(id)
      const rejected = new Map<string, number[]>()
      for (const [id, a] of log.conversations)
        if (a.state.rejected.size > 0) rejected.set(id, [...a.state.rejected.keys()])
      const shown = await rejectedShown(o.pool, schema, rejected)
      const projection = await readProjection(o.jsm, o.pool, o.names)
      const bounds = boundFindings(projection, o.bounds)

      const counts: Counts = { ...logCounts }
      const current = [...viewFindings.values()].flat().concat(shown)
      for (const f of [...current, ...bounds]) countOf(counts, f)
      const verdict = judge(counts, o.bounds)
      const stats = log.stats()
      return {
        at: new Date().toISOString(),
        seconds: (performance.now() - started) / 1000,
        conversations: log.conversations.size,
        events: stats.events,
        messages: stats.messages,
        views: { full, checked: full ? log.conversations.size : (ids?.length ?? 0) },
        deadLetters: projection.deadLetters,
        lag: projection.lag.map((l) => ({
          stream: l.stream,
          pending: l.pending,
          oldestAgeSeconds: l.oldestAgeSeconds,
        })),
        counts,
        ...verdict,
        // Violations first: they are what an operator must look at.
        findings: [...bounds, ...current, ...logKept].sort(
          (a, b) => Number(b.severity === 'violation') - Number(a.severity === 'violation'),
        ),
      }
    },
  }
}
