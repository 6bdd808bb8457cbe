/**
 * Token buckets, pure: `take` gets the time passed in. A bucket holds up to `burst` tokens and
 * refills at `perSecond`; a request takes one token or is refused with the wait until one is
 * there.
 */
export interface BucketSpec {
  perSecond: number
  burst: number
}

export interface Bucket {
  tokens: number
  at: number
}

export type Take = { ok: true; bucket: Bucket } | { ok: false; bucket: Bucket; retryAfterMs: number }

export const take = (bucket: Bucket | undefined, spec: BucketSpec, now: number): Take => {
  const elapsed = bucket ? Math.max(0, now - bucket.at) : 0
  const tokens = bucket ? Math.min(spec.burst, bucket.tokens + (elapsed / 1000) * spec.perSecond) : spec.burst
  if (tokens >= 1) return { ok: true, bucket: { tokens: tokens - 1, at: now } }
  return {
    ok: false,
    bucket: { tokens, at: now },
    retryAfterMs: Math.ceil(((1 - tokens) / spec.perSecond) * 1000),
  }
}

/**
 * Buckets keyed by client address. Memory is bounded: when `maxKeys` is reached, buckets that
 * have refilled completely (and so carry no information) are dropped; if none has, the oldest
 * half goes. A flood of addresses can therefore at worst reset some buckets early, never grow
 * memory without bound.
 */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, Bucket>()
  constructor(
    readonly spec: BucketSpec,
    private readonly maxKeys = 100_000,
  ) {
    if (!(spec.perSecond > 0) || !(spec.burst >= 1))
      throw new Error('rate limit needs perSecond > 0, burst >= 1')
  }

  take(key: string, now: number): Take {
    const r = take(this.buckets.get(key), this.spec, now)
    this.buckets.delete(key) // re-insert: Map order is then least recently used first
    this.buckets.set(key, r.bucket)
    if (this.buckets.size > this.maxKeys) this.evict(now)
    return r
  }

  get size(): number {
    return this.buckets.size
  }

  private evict(now: number): void {
    const fullAfterMs = (this.spec.burst / this.spec.perSecond) * 1000
    for (const [k, b] of this.buckets) if (now - b.at >= fullAfterMs) this.buckets.delete(k)
    if (this.buckets.size <= this.maxKeys) return
    let drop = Math.ceil(this.buckets.size / 2)
    for (const k of this.buckets.keys()) {
      if (drop-- <= 0) break
      this.buckets.delete(k)
    }
  }
}
