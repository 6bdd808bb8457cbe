import {
  type CostUnit,
  type NatsPeak,
  type NatsState,
  peakOf,
  type StepCost,
  stepCost,
} from '../core/cost.js'
import type { NatsProbe } from './nats-probe.js'
import type { PgBackends } from './pg-backends.js'
import { type CpuSnapshot, cpuBetween, type ProcSampler } from './proc-sampler.js'

const NO_NATS: NatsState = { rssBytes: 0, consumers: { namespace: 0, server: 0, serverScope: 'account' } }

/** An open measurement window: CPU of every component and a count of units when it opened. */
export interface CostWindow {
  at: number
  cpu: CpuSnapshot
  units: number
  nats: NatsState
}

export interface ClosedWindow {
  seconds: number
  units: number
  cpuSeconds: Map<string, number>
  /** Run-queue wait per component over the window, in seconds. */
  waitSeconds: Map<string, number>
  /** Wake-ups per component over the window (every thread of every process). */
  wakeups: Map<string, number>
  natsDelta?: { inMsgs: number; apiRequests: number }
}

/**
 * Measures what a step costs the servers (core/cost.ts): a window over the step's steady state
 * (opened after its warm-up, closed at the end of its load, before any drain), and the
 * nats-server's state before and after the whole step, sampled meanwhile for its peak.
 */
export class CostMeter {
  constructor(
    private readonly sampler: ProcSampler,
    private readonly isServer: (component: string) => boolean,
    private readonly probe?: NatsProbe,
    private readonly pg?: PgBackends,
  ) {}

  async nats(): Promise<NatsState> {
    if (!this.probe) return NO_NATS
    try {
      return await this.probe.snapshot()
    } catch {
      return { ...NO_NATS, rssBytes: this.probe.rssBytes() }
    }
  }

  /** Samples the nats-server every `ms` until stopped; resolves with the peak. */
  watchNats(ms = 1000): { stop: () => Promise<NatsPeak | undefined> } {
    let peak: NatsPeak | undefined
    let stopped = false
    let busy: Promise<void> = Promise.resolve()
    const tick = () => {
      if (stopped || !this.probe) return
      busy = this.nats().then((s) => {
        peak = peakOf(peak, s)
      })
    }
    tick()
    const timer = setInterval(tick, ms)
    timer.unref()
    return {
      stop: async () => {
        stopped = true
        clearInterval(timer)
        await busy
        return peak
      },
    }
  }

  async open(units: number): Promise<CostWindow> {
    // New backends (a pool growing under load) are picked up before the window, not after.
    const [nats] = await Promise.all([this.nats(), this.pg?.poll()])
    return { at: performance.now(), cpu: this.sampler.cpuNow(), units, nats }
  }

  /** `units` is read when called; the CPU too, before the nats-server is asked for its counters. */
  async close(w: CostWindow, units: number): Promise<ClosedWindow> {
    const d = cpuBetween(w.cpu, this.sampler.cpuNow())
    const seconds = (performance.now() - w.at) / 1000
    const nats = await this.nats()
    const a = w.nats
    return {
      seconds,
      units: units - w.units,
      cpuSeconds: new Map([...d].map(([k, v]) => [k, v.cpu])),
      waitSeconds: new Map([...d].map(([k, v]) => [k, v.wait])),
      wakeups: new Map([...d].map(([k, v]) => [k, v.wakeups])),
      ...(a.inMsgs !== undefined &&
      nats.inMsgs !== undefined &&
      a.apiRequests !== undefined &&
      nats.apiRequests !== undefined
        ? { natsDelta: { inMsgs: nats.inMsgs - a.inMsgs, apiRequests: nats.apiRequests - a.apiRequests } }
        : {}),
    }
  }

  result(o: {
    unit: CostUnit
    window: string
    closed: ClosedWindow
    before: NatsState
    after: NatsState
    peak?: NatsPeak | undefined
  }): StepCost {
    return stepCost({
      unit: o.unit,
      units: o.closed.units,
      windowS: o.closed.seconds,
      window: o.window,
      cpuSeconds: o.closed.cpuSeconds,
      waitSeconds: o.closed.waitSeconds,
      wakeups: o.closed.wakeups,
      isServer: this.isServer,
      before: o.before,
      after: o.after,
      ...(o.peak ? { peak: o.peak } : {}),
      ...(o.closed.natsDelta ? { natsDelta: o.closed.natsDelta } : {}),
    })
  }
}
