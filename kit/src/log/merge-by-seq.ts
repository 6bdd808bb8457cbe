/**
 * Merges sources that are each in ascending `seq` order into one in ascending order. Reads one
 * item ahead from each source: the next yielded is the smallest head. Used to read a
 * conversation's lanes, each walked by its literal subject, as the one ordered log they form in
 * their stream (sequences are unique across the stream, so heads never tie).
 */
export async function* mergeBySeq<T extends { seq: number }>(
  sources: AsyncIterable<T>[],
): AsyncGenerator<T, void, undefined> {
  const its = sources.map((s) => s[Symbol.asyncIterator]())
  const heads: (T | undefined)[] = await Promise.all(
    its.map(async (it) => (await it.next()).value ?? undefined),
  )
  try {
    for (;;) {
      let at = -1
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i]
        if (h !== undefined && (at < 0 || h.seq < heads[at]!.seq)) at = i
      }
      if (at < 0) return
      yield heads[at]!
      heads[at] = (await its[at]!.next()).value ?? undefined
    }
  } finally {
    // A consumer that stops early (or throws) ends every source, so none leaves a read open.
    await Promise.all(its.map((it) => it.return?.()))
  }
}
