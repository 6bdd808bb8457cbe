/**
 * One ordered read over the archive and the stream of a shard (ADR 0201): what lies below the
 * stream's first sequence comes from the archive, the rest from the stream. The archiver only
 * trims what is archived, so the two always meet. A trim can land between learning the stream's
 * start and reading it (the read would then silently begin later): the start is looked up again
 * once the stream's first answer is in, and if it moved past where the stream read began, that
 * answer is dropped and the read goes back to the archive for what was trimmed meanwhile. Nothing
 * is yielded twice, nothing skipped.
 */
export interface Splice<T extends { seq: number }> {
  after: number
  upTo: number
  /** The stream's first sequence now (last + 1 when it is empty). */
  firstHot(): Promise<number>
  archive(after: number, upTo: number): AsyncIterable<T>
  stream(after: number, upTo: number): AsyncIterable<T>
}

export async function* archiveThenStream<T extends { seq: number }>(s: Splice<T>): AsyncGenerator<T> {
  let pos = s.after
  let hot = await s.firstHot()
  for (;;) {
    if (pos + 1 < hot) {
      const end = Math.min(s.upTo, hot - 1)
      for await (const x of s.archive(pos, end)) yield x
      pos = end
    }
    if (pos >= s.upTo) return
    const it = s.stream(pos, s.upTo)[Symbol.asyncIterator]()
    const first = await it.next()
    const again = await s.firstHot()
    if (again > pos + 1) {
      // Trimmed under the read: what the stream skipped is in the archive now.
      await it.return?.(undefined)
      hot = again
      continue
    }
    if (first.done) return
    yield first.value
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value
    return
  }
}
