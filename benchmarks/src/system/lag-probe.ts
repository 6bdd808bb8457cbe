import { parsePrometheus, percentile } from '../core/prometheus.js'

/**
 * Samples the projector's lag once a second from its /metrics, for the run's projection-lag p99.
 * Uses the first `projector_lag_*` gauge it finds (preferring seconds), so the benchmark keeps
 * working if the projector renames or adds lag metrics.
 */
export class LagProbe {
  private timer: NodeJS.Timeout | undefined
  private readonly values: number[] = []
  private metric: string | undefined

  constructor(private readonly metricsUrl: string) {}

  start(): void {
    const tick = async () => {
      try {
        const r = await fetch(this.metricsUrl, { signal: AbortSignal.timeout(900) })
        const samples = parsePrometheus(await r.text()).filter(
          (s) => s.name.startsWith('projector_lag') && !/_(bucket|sum|count|created)$/.test(s.name),
        )
        if (!this.metric) {
          const names = [...new Set(samples.map((s) => s.name))]
          this.metric = names.find((n) => n.includes('seconds')) ?? names[0]
        }
        const mine = samples.filter((s) => s.name === this.metric)
        if (mine.length > 0) this.values.push(Math.max(...mine.map((s) => s.value)))
      } catch {
        // a missed scrape is a missing sample, not a failed run
      }
    }
    void tick()
    this.timer = setInterval(tick, 1000)
    this.timer.unref()
  }

  stop(): { metric: string; p99: number; max: number; samples: number; unit: string } | undefined {
    if (this.timer) clearInterval(this.timer)
    if (!this.metric || this.values.length === 0) return undefined
    return {
      metric: this.metric,
      p99: percentile(this.values, 99),
      max: Math.max(...this.values),
      samples: this.values.length,
      unit: this.metric.includes('seconds')
        ? 's'
        : this.metric.includes('events') || this.metric.includes('messages')
          ? 'events'
          : '',
    }
  }
}
