/**
 * What a step cost the servers: CPU per unit of work (a stored message, an opened connection, a
 * synced session, a ready upload) per server process and in total, over the step's steady-state
 * window, and what the nats-server held before and after the step. Pure: the numbers come from
 * /proc and NATS (system/cost-meter.ts).
 */

/** What the nats-server holds at one moment. */
export interface NatsState {
  rssBytes: number
  consumers: {
    /** Every stream of the run's namespace, its KV buckets included. */
    namespace: number
    /** The whole server (`server`, from /jsz) or the JetStream account (`account`). */
    server: number
    serverScope: 'server' | 'account'
  }
  /** From /varz and /jsz, when the monitoring port is known. */
  subscriptions?: number
  connections?: number
  /** Messages clients sent the server so far (publishes and requests: appends, direct gets …). */
  inMsgs?: number
  /** JetStream API requests so far (stream and consumer management, KV and message gets). */
  apiRequests?: number
  /** The server's GOMAXPROCS (/varz): how many cores its Go scheduler runs on (ADR 0222). */
  goMaxProcs?: number
  /** The server's GOGC (its environment; "100" is Go's default): its heap's headroom (ADR 0229). */
  goGc?: string
}

/** Highest values seen while sampling during a step. */
export interface NatsPeak {
  rssBytes: number
  namespaceConsumers: number
  serverConsumers: number
}

export type CostUnit = 'message' | 'connection' | 'session' | 'upload'

export interface ProcessCost {
  name: string
  /** CPU microseconds per unit. */
  usPerUnit: number
  /** Average cores over the window. */
  cores: number
  /** Share of the window its event-loop thread was runnable but waiting for a CPU (a starved machine). */
  waited?: number
  /** Times a thread of it slept and was woken, per unit (proc-stat.ts, readThreadsWakeups). */
  wakeupsPerUnit?: number
}

export interface StepCost {
  unit: CostUnit
  units: number
  windowS: number
  /** Which part of the step the window covers. */
  window: string
  /** Server processes only: services, their PostgreSQL backends, nats-server. */
  processes: ProcessCost[]
  totalUsPerUnit: number
  totalCores: number
  /** Wake-ups of every server process per unit, when they were counted. */
  totalWakeupsPerUnit?: number
  nats: { before: NatsState; after: NatsState; peak?: NatsPeak }
  /**
   * What the step asked of the nats-server per unit over the same window (monitoring port only):
   * messages clients sent it (each append, direct get, receipt, KV put is one), and JetStream API
   * requests among them.
   */
  natsPerUnit?: { inMsgs: number; apiRequests: number }
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits

export interface CostInput {
  unit: CostUnit
  units: number
  windowS: number
  window: string
  /** CPU seconds used over the window, per component. */
  cpuSeconds: ReadonlyMap<string, number>
  /** Seconds each component's main thread waited for a CPU over the window. */
  waitSeconds?: ReadonlyMap<string, number>
  /** Wake-ups of each component over the window. */
  wakeups?: ReadonlyMap<string, number>
  /** Which components are servers (the load generator and the coordinator are not). */
  isServer: (name: string) => boolean
  before: NatsState
  after: NatsState
  peak?: NatsPeak
  /** Counters of the nats-server over the window (when it has a monitoring port). */
  natsDelta?: { inMsgs: number; apiRequests: number }
}

export const stepCost = (i: CostInput): StepCost => {
  const windowS = Math.max(0.001, i.windowS)
  const per = (cpu: number) => (i.units > 0 ? round((cpu * 1e6) / i.units, 1) : 0)
  const processes = [...i.cpuSeconds]
    .filter(([name]) => i.isServer(name))
    .map(([name, cpu]) => {
      const w = i.waitSeconds?.get(name)
      const k = i.wakeups?.get(name)
      return {
        name,
        usPerUnit: per(cpu),
        cores: round(cpu / windowS, 3),
        ...(w !== undefined ? { waited: round(w / windowS, 3) } : {}),
        ...(k !== undefined && i.units > 0 ? { wakeupsPerUnit: round(k / i.units, 2) } : {}),
      }
    })
  const total = [...i.cpuSeconds].filter(([n]) => i.isServer(n)).reduce((a, [, c]) => a + c, 0)
  const wakeups = i.wakeups
    ? [...i.wakeups].filter(([n]) => i.isServer(n)).reduce((a, [, k]) => a + k, 0)
    : undefined
  const d = i.natsDelta
  const natsPerUnit =
    d && i.units > 0
      ? { inMsgs: round(d.inMsgs / i.units, 1), apiRequests: round(d.apiRequests / i.units, 1) }
      : undefined
  return {
    unit: i.unit,
    units: i.units,
    windowS: round(windowS, 2),
    window: i.window,
    processes,
    totalUsPerUnit: per(total),
    totalCores: round(total / windowS, 3),
    ...(wakeups !== undefined && i.units > 0 ? { totalWakeupsPerUnit: round(wakeups / i.units, 2) } : {}),
    nats: { before: i.before, after: i.after, ...(i.peak ? { peak: i.peak } : {}) },
    ...(natsPerUnit ? { natsPerUnit } : {}),
  }
}

/** Growth of the nats-server's resident memory over the step (negative when it shrank). */
export const natsRssGrowth = (c: StepCost): number => c.nats.after.rssBytes - c.nats.before.rssBytes

/** Folds a sample into the running peak. */
export const peakOf = (p: NatsPeak | undefined, s: NatsState): NatsPeak => ({
  rssBytes: Math.max(p?.rssBytes ?? 0, s.rssBytes),
  namespaceConsumers: Math.max(p?.namespaceConsumers ?? 0, s.consumers.namespace),
  serverConsumers: Math.max(p?.serverConsumers ?? 0, s.consumers.server),
})
