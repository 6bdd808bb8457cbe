/**
 * One ordered read over the archive and the stream of a shard (ADR 0201): what lies below the
 * stream's first sequence comes from the archive, the rest from the stream. The archiver only
 * trims what is archived, so the two always meet.
 *
 * The stream is read first, and its start looked up once its first answer is in: trims only
 * remove a prefix, so if the stream still starts at or before where the read began, it held
 * everything from there when it answered and the answer is complete — one lookup per read, the
 * common case. If it starts later (history was trimmed, or a trim landed during the read), that
 * answer is dropped, the archive yields what lies before the stream's start, and the stream is
 * read again from there. Nothing is yielded twice, nothing skipped.
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
  while (pos < s.upTo) {
    const it = s.stream(pos, s.upTo)[Symbol.asyncIterator]()
    const first = await it.next()
    const hot = await s.firstHot()
    if (hot > pos + 1) {
      await it.return?.(undefined)
      const end = Math.min(s.upTo, hot - 1)
      for await (const x of s.archive(pos, end)) yield x
      pos = end
      continue
    }
    if (first.done) return
    yield first.value
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value
    return
  }
}
