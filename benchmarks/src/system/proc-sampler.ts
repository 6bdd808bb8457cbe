import { readdirSync, readFileSync } from 'node:fs'
import { type ProcSample, readProc, readThreadsWait, readThreadsWakeups } from './proc-stat.js'

/** One component (a service, or a set of processes such as the load workers) to measure. */
export interface Component {
  name: string
  /** Looked up at every sample: workers and postgres backends come and go. */
  pids: () => number[]
  /** A server process of the system under test (not the load generator or the coordinator). */
  server?: boolean
  /**
   * Run-queue wait summed over every thread (a Go server runs goroutines on several threads),
   * instead of the main thread's (Node's event loop, which is what stretches a Node service).
   */
  waitAllThreads?: boolean
  /** Count the CPU of the children it waited for (a service's ffmpeg runs are its cost). */
  withChildren?: boolean
}

export interface ComponentUsage {
  name: string
  /** Average over the window, in cores (1.0 = one core busy the whole time). */
  cpuCores: number
  /** Highest sum of the processes' resident sets seen in a sample, and the kernel's peak per process summed. */
  peakRssBytes: number
  rssBytesEnd: number
}

const sum = (samples: (ProcSample | undefined)[]) =>
  samples.reduce(
    (a, s) =>
      s
        ? {
            cpu: a.cpu + s.cpuSeconds,
            rss: a.rss + s.rssBytes,
            hwm: a.hwm + s.peakRssBytes,
            wait: a.wait + s.waitSeconds,
          }
        : a,
    { cpu: 0, rss: 0, hwm: 0, wait: 0 },
  )

/** Per component, per pid: cumulative CPU and run-queue wait seconds, and wake-ups (every thread). */
export type CpuSnapshot = Map<string, Map<number, { cpu: number; wait: number; wakeups: number }>>

export interface CpuDelta {
  cpu: number
  wait: number
  wakeups: number
}

/**
 * CPU used and time waited between two snapshots, over the pids present in both (PostgreSQL
 * backends come and go; a pid seen once has no difference to contribute).
 */
export const cpuBetween = (a: CpuSnapshot, b: CpuSnapshot): Map<string, CpuDelta> => {
  const out = new Map<string, CpuDelta>()
  for (const [name, after] of b) {
    const before = a.get(name) ?? new Map()
    let cpu = 0
    let wait = 0
    let wakeups = 0
    for (const [pid, x] of after) {
      const y = before.get(pid)
      if (!y) continue
      cpu += x.cpu - y.cpu
      wait += x.wait - y.wait
      wakeups += x.wakeups - y.wakeups
    }
    out.set(name, { cpu, wait, wakeups })
  }
  return out
}

/** Pids whose command name (`/proc/<pid>/comm`) is one of `names`: nats-server, postgres. */
export const pidsByName = (...names: string[]): number[] => {
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      if (names.includes(readFileSync(`/proc/${d}/comm`, 'utf8').trim())) out.push(Number(d))
    } catch {
      // raced with the process exiting
    }
  }
  return out
}

/**
 * Samples components every `intervalMs` between start() and stop(). CPU is the difference of
 * cumulative CPU time per pid (a pid seen first mid-window counts from its first sample).
 */
export class ProcSampler {
  private timer: NodeJS.Timeout | undefined
  private readonly first = new Map<string, Map<number, number>>()
  private readonly last = new Map<string, Map<number, number>>()
  private readonly peak = new Map<string, number>()
  private readonly rssEnd = new Map<string, number>()
  private startedAt = 0
  private stoppedAt = 0

  constructor(
    private readonly components: Component[],
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.startedAt = performance.now()
    this.sample()
    this.timer = setInterval(() => this.sample(), this.intervalMs)
    this.timer.unref()
  }

  private sample(): void {
    for (const c of this.components) {
      const pids = c.pids()
      const samples = pids.map(readProc)
      const first = this.first.get(c.name) ?? new Map<number, number>()
      const last = this.last.get(c.name) ?? new Map<number, number>()
      pids.forEach((pid, i) => {
        const s = samples[i]
        if (!s) return
        const cpu = s.cpuSeconds + (c.withChildren ? s.childCpuSeconds : 0)
        if (!first.has(pid)) first.set(pid, cpu)
        last.set(pid, cpu)
      })
      this.first.set(c.name, first)
      this.last.set(c.name, last)
      const t = sum(samples)
      this.peak.set(c.name, Math.max(this.peak.get(c.name) ?? 0, t.rss, pids.length === 1 ? t.hwm : 0))
      this.rssEnd.set(c.name, t.rss)
    }
  }

  /** Cumulative CPU seconds of every component now, for the CPU share of one phase. */
  cpuNow(): CpuSnapshot {
    return new Map(
      this.components.map((c) => {
        const per = new Map<number, { cpu: number; wait: number; wakeups: number }>()
        for (const pid of c.pids()) {
          const s = readProc(pid)
          if (s)
            per.set(pid, {
              cpu: s.cpuSeconds + (c.withChildren ? s.childCpuSeconds : 0),
              wait: c.waitAllThreads ? readThreadsWait(pid) : s.waitSeconds,
              wakeups: readThreadsWakeups(pid),
            })
        }
        return [c.name, per]
      }),
    )
  }

  /** A component that exists from now on (a gateway started for one step). */
  add(c: Component): void {
    if (!this.components.some((x) => x.name === c.name)) this.components.push(c)
  }

  isServer(name: string): boolean {
    return this.components.find((c) => c.name === name)?.server === true
  }

  /** Current resident set of one component, for before/after memory measurements. */
  rssNow(name: string): number {
    const c = this.components.find((x) => x.name === name)
    return c ? sum(c.pids().map(readProc)).rss : 0
  }

  stop(): ComponentUsage[] {
    if (this.timer) clearInterval(this.timer)
    this.sample()
    this.stoppedAt = performance.now()
    const seconds = Math.max(0.001, (this.stoppedAt - this.startedAt) / 1000)
    return this.components.map((c) => {
      const first = this.first.get(c.name) ?? new Map()
      const last = this.last.get(c.name) ?? new Map()
      let cpu = 0
      for (const [pid, end] of last) cpu += end - (first.get(pid) ?? end)
      return {
        name: c.name,
        cpuCores: Math.round((cpu / seconds) * 1000) / 1000,
        peakRssBytes: this.peak.get(c.name) ?? 0,
        rssBytesEnd: this.rssEnd.get(c.name) ?? 0,
      }
    })
  }
}
