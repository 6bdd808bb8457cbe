import { Counter, Histogram, type Registry } from 'prom-client'

/** Per route pattern (never the raw path, so ids do not explode the label set). */
export interface HttpMetrics {
  observe(route: string, method: string, status: number | 'aborted', seconds: number): void
}

export const createHttpMetrics = (registry: Registry | undefined): HttpMetrics => {
  if (!registry) return { observe: () => {} }
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP API requests by route pattern, method and status (or "aborted").',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP API time from request to the last byte written, by route pattern and method.',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  })
  return {
    observe(route, method, status, seconds) {
      requests.inc({ route, method, status: String(status) })
      duration.observe({ route, method }, seconds)
    },
  }
}
