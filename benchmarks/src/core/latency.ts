import * as hdr from 'hdr-histogram-js'

/**
 * Latencies are recorded in microseconds in HDR histograms (3 significant digits, so a
 * percentile is within 0.1 % of the true value whatever its size), and travel between processes
 * as compressed base64, so workers can be merged without shipping raw samples.
 */
export type Histogram = hdr.Histogram

const HIGHEST_US = 120_000_000

export const newHistogram = (): Histogram =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
  })

/** Records a duration in microseconds, clamped into the trackable range instead of throwing. */
export const recordUs = (h: Histogram, us: number): void => {
  h.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(us))))
}

export const encodeHistogram = (h: Histogram): string => hdr.encodeIntoCompressedBase64(h)

export const decodeHistogram = (s: string): Histogram => hdr.decodeFromCompressedBase64(s)

export const mergeHistograms = (encoded: readonly string[]): Histogram => {
  const out = newHistogram()
  for (const e of encoded) out.add(decodeHistogram(e))
  return out
}

/** Milliseconds, three decimals: what the reports print. */
export interface LatencySummary {
  count: number
  p50: number
  p95: number
  p99: number
  max: number
  mean: number
}

const ms = (us: number) => Math.round(us) / 1000

export const summarize = (h: Histogram): LatencySummary => {
  if (h.totalCount === 0) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 }
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  }
}
