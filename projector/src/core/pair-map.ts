/**
 * A map keyed by two strings (a conversation and a user or media id) that never builds a joined
 * key: a rebuild looks keys up millions of times, and hashing a fresh concatenation each time was
 * a visible share of its profile. The conversation id strings repeat, so their hashes are cached.
 */
export class PairMap<V> {
  private readonly outer = new Map<string, Map<string, V>>()
  private count = 0

  get(a: string, b: string): V | undefined {
    return this.outer.get(a)?.get(b)
  }

  has(a: string, b: string): boolean {
    return this.outer.get(a)?.has(b) === true
  }

  set(a: string, b: string, value: V): void {
    let inner = this.outer.get(a)
    if (!inner) {
      inner = new Map()
      this.outer.set(a, inner)
    }
    if (!inner.has(b)) this.count++
    inner.set(b, value)
  }

  get size(): number {
    return this.count
  }

  entries(): [string, string, V][] {
    const out: [string, string, V][] = []
    for (const [a, inner] of this.outer) for (const [b, v] of inner) out.push([a, b, v])
    return out
  }

  values(): V[] {
    const out: V[] = []
    for (const inner of this.outer.values()) for (const v of inner.values()) out.push(v)
    return out
  }
}
