import { parsePrometheus, percentile } from '../core/prometheus.js'
import type { LagResult } from '../core/result.js'

/**
 * Samples the projector's lag once a second from its /metrics, for the run's projection-lag p99.
 * Every `projector_lag_*` gauge is kept (today: events behind and seconds behind, per shard; the
 * worst shard counts), so the benchmark follows the projector if it adds or renames one.
 */
export class LagProbe {
  private timer: NodeJS.Timeout | undefined
  private readonly values = new Map<string, number[]>()

  constructor(private readonly metricsUrl: string) {}

  start(): void {
    const tick = async () => {
      try {
        const r = await fetch(this.metricsUrl, { signal: AbortSignal.timeout(900) })
        const worst = new Map<string, number>()
        for (const s of parsePrometheus(await r.text())) {
          if (!s.name.startsWith('projector_lag') || /_(bucket|sum|count|created)$/.test(s.name)) continue
          worst.set(s.name, Math.max(worst.get(s.name) ?? Number.NEGATIVE_INFINITY, s.value))
        }
        for (const [name, v] of worst) this.values.set(name, [...(this.values.get(name) ?? []), v])
      } catch {
        // a missed scrape is a missing sample, not a failed run
      }
    }
    void tick()
    this.timer = setInterval(tick, 1000)
    this.timer.unref()
  }

  stop(): LagResult[] {
    if (this.timer) clearInterval(this.timer)
    return [...this.values].map(([metric, vs]) => ({
      metric,
      p99: percentile(vs, 99),
      max: Math.max(...vs),
      samples: vs.length,
      unit: metric.endsWith('seconds') ? 's' : metric.endsWith('events') ? 'events' : '',
    }))
  }
}
