/**
 * Just enough of the Prometheus text format to read the projector's lag: sample lines
 * `name{labels} value`. Comments and malformed lines are skipped.
 */
export interface PromSample {
  name: string
  labels: Record<string, string>
  value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

export const parsePrometheus = (text: string): PromSample[] => {
  const out: PromSample[] = []
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const m = LINE.exec(line.trim())
    if (!m) continue
    const value = Number(m[4])
    if (Number.isNaN(value)) continue
    const labels: Record<string, string> = {}
    for (const l of (m[3] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!
    out.push({ name: m[1]!, labels, value })
  }
  return out
}

/** A service's metrics now, from its ops port on this machine. */
export const scrapeMetrics = async (opsPort: number, timeoutMs = 5000): Promise<PromSample[]> => {
  const r = await fetch(`http://127.0.0.1:${opsPort}/metrics`, { signal: AbortSignal.timeout(timeoutMs) })
  return parsePrometheus(await r.text())
}

/**
 * The projector's lag right now, as the largest of its `projector_lag_*` gauges of one unit
 * (summed buckets of a histogram are skipped: a scrape of a gauge is a point in time, which is
 * what a p99 over the run's samples needs). Returns undefined when the projector exposes none.
 */
export const lagNow = (samples: PromSample[], metric: string): number | undefined => {
  let max: number | undefined
  for (const s of samples) {
    if (s.name !== metric) continue
    max = max === undefined ? s.value : Math.max(max, s.value)
  }
  return max
}

/** The nearest-rank percentile of plain numbers (for lag samples: a few hundred at most). */
export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1]!
}
