/**
 * A mutable token bucket, allocation-free per frame (the HTTP limiter's immutable one allocates
 * per call; a socket takes one per frame). Refills at `perSecond` up to `burst`.
 */
export class TokenBucket {
  private tokens: number
  private at: number
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst
    this.at = now
  }

  /** 0 when a token was taken, else the milliseconds until one is there. */
  take(now: number): number {
    const elapsed = Math.max(0, now - this.at)
    this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1000) * this.perSecond)
    this.at = now
    if (this.tokens >= 1) {
      this.tokens -= 1
      return 0
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) / this.perSecond) * 1000))
  }
}
