import type { ArchiveStore } from './archive-store.js'
import { ArchiveFormatError } from './archive-store.js'
import { type DecodedMessage, decodeSegment, type SegmentRef } from './segment-format.js'

export interface ArchiveReadOptions {
  /** Keep only messages whose subject this accepts (a conversation's subjects). */
  match?: (subject: string) => boolean
  /** Keep only messages stored at or after this time (ms). */
  since?: number
}

/**
 * Range reads of the archive of one shard, in stream order, bounded by the shard's checkpoint
 * (segments past it are leftovers of a crashed archiver: never read). Every segment is checked
 * (checksum, order, range) before anything in it is yielded; one that fails throws
 * ArchiveFormatError: a reader never skips what it cannot read, which would be a silent hole.
 * A few decoded segments are kept, because catching up many conversations of one shard reads the
 * same segments again.
 */
export const createArchiveReader = (store: ArchiveStore, o: { cacheSegments?: number } = {}) => {
  const max = o.cacheSegments ?? 8
  const cache = new Map<string, DecodedMessage[]>()
  const load = async (ref: SegmentRef): Promise<DecodedMessage[]> => {
    const hit = cache.get(ref.key)
    if (hit) {
      cache.delete(ref.key)
      cache.set(ref.key, hit)
      return hit
    }
    const d = decodeSegment(ref, await store.body(ref.key))
    if (!d.ok) throw new ArchiveFormatError(`archive segment ${ref.key}: ${d.kind}: ${d.detail}`)
    cache.set(ref.key, d.messages)
    if (cache.size > max) cache.delete(cache.keys().next().value!)
    return d.messages
  }

  /** How far the shard's archive is complete (0: nothing archived). */
  const archivedTo = async (shard: number): Promise<number> =>
    (await store.checkpoint(shard))?.archivedTo ?? 0

  /** Archived messages of `shard` with `after < seq <= upTo` (and ≤ the checkpoint), in order. */
  async function* read(
    shard: number,
    after: number,
    upTo: number,
    r: ArchiveReadOptions = {},
  ): AsyncGenerator<DecodedMessage, void, undefined> {
    const end = Math.min(upTo, await archivedTo(shard))
    if (end <= after) return
    let expected = after + 1
    for await (const ref of store.segments(shard, after, end)) {
      // Segments come in order; one that does not start where coverage ended is a hole (or an
      // overlap) in the archive: fail rather than yield around it.
      if (ref.fromSeq > expected)
        throw new ArchiveFormatError(`archive of shard ${shard} has a gap: ${expected}..${ref.fromSeq - 1}`)
      for (const m of await load(ref)) {
        // An overlapping leftover (see the archiver's clean-up) yields nothing twice.
        if (m.seq < expected) continue
        if (m.seq > end) return
        if (r.match && !r.match(m.subject)) continue
        if (r.since !== undefined && m.at < r.since) continue
        yield m
      }
      expected = Math.max(expected, ref.toSeq + 1)
      if (ref.toSeq >= end) return
    }
    if (expected <= end)
      throw new ArchiveFormatError(
        `archive of shard ${shard} ends at ${expected - 1}, its checkpoint at ${end}`,
      )
  }

  return { read, archivedTo, store }
}

export type ArchiveReader = ReturnType<typeof createArchiveReader>
