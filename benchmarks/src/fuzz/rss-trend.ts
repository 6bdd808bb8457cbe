/** A gateway RSS sample during the fuzz run: how many frames had been sent, and the RSS then. */
export interface RssSample {
  frames: number
  rssBytes: number
}

export interface RssTrend {
  startBytes: number
  midBytes: number
  endBytes: number
  peakBytes: number
  /** End minus mid: what the second half of the run added. */
  secondHalfGrowthBytes: number
  /** Least-squares slope over the second half, bytes per 100,000 frames. */
  secondHalfSlopePer100k: number
  /**
   * The second half added at most 8 MiB or 10 % of the mid-run RSS, whichever is larger. Loose on
   * purpose: RSS includes the heap pages V8 keeps after a GC (in a million-frame run heapTotal
   * swung between 130 and 237 MiB at the same ~55 MiB used), so a leak of JS objects is judged on
   * the heap after a full GC (fuzz-run), and this bound catches native growth.
   */
  flat: boolean
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)]!
}

/**
 * Whether memory levelled off (pure). A leak grows with the frames sent; warm-up (JIT, pools,
 * V8's heap sizing) happens in the first half. Medians of three samples at each end, so one
 * sample taken just before a GC does not decide it.
 */
export const rssTrend = (samples: readonly RssSample[]): RssTrend => {
  if (samples.length === 0)
    return {
      startBytes: 0,
      midBytes: 0,
      endBytes: 0,
      peakBytes: 0,
      secondHalfGrowthBytes: 0,
      secondHalfSlopePer100k: 0,
      flat: false,
    }
  const total = samples[samples.length - 1]!.frames
  const second = samples.filter((s) => s.frames >= total / 2)
  const mid = median(second.slice(0, 3).map((s) => s.rssBytes))
  const end = median(second.slice(-3).map((s) => s.rssBytes))
  const mx = second.reduce((a, s) => a + s.frames, 0) / second.length
  const my = second.reduce((a, s) => a + s.rssBytes, 0) / second.length
  const sxx = second.reduce((a, s) => a + (s.frames - mx) ** 2, 0)
  const sxy = second.reduce((a, s) => a + (s.frames - mx) * (s.rssBytes - my), 0)
  const growth = end - mid
  return {
    startBytes: samples[0]!.rssBytes,
    midBytes: mid,
    endBytes: end,
    peakBytes: Math.max(...samples.map((s) => s.rssBytes)),
    secondHalfGrowthBytes: growth,
    secondHalfSlopePer100k: sxx > 0 ? (sxy / sxx) * 100_000 : 0,
    flat: second.length >= 2 && growth <= Math.max(8 * 2 ** 20, mid * 0.1),
  }
}
