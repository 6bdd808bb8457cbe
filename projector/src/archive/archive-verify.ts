import type { ArchiveProblem, Names } from '@chatapp/contracts'
import { type ArchiveStore, decodeSegment } from '@chatapp/kit'
import type { JetStreamManager } from '@nats-io/jetstream'

export interface ArchiveVerifyResult {
  shards: {
    shard: number
    segments: number
    events: number
    bytes: number
    archivedTo: number
    hotFrom: number
  }[]
  problems: ArchiveProblem[]
}

/**
 * `chatapp-ops archive verify`: every recorded segment of every shard is read and checked
 * (checksum of its bytes, header, every line, order and range), and the segments are checked to
 * cover every sequence from 1 to the checkpoint without a gap or an overlap, and the checkpoint to
 * reach the stream's first sequence (what was trimmed is all archived). Reads the whole archive.
 */
export const verifyArchive = async (
  jsm: JetStreamManager,
  store: ArchiveStore,
  n: Names,
  onProgress?: (segments: number) => void,
): Promise<ArchiveVerifyResult> => {
  const problems: ArchiveProblem[] = []
  const shards: ArchiveVerifyResult['shards'] = []
  let seen = 0
  for (let shard = 0; shard < n.shards; shard++) {
    const cp = await store.checkpoint(shard)
    const archivedTo = cp?.archivedTo ?? 0
    const hotFrom = (await jsm.streams.info(n.convStream(shard))).state.first_seq
    const problem = (key: string, kind: ArchiveProblem['kind'], detail: string) =>
      problems.push({ shard, key, kind, detail })
    let expected = 1
    let segments = 0
    let events = 0
    let bytes = 0
    for await (const ref of store.segments(shard, 0, archivedTo)) {
      if (ref.toSeq > archivedTo) break // unrecorded: a crashed archiver's leftover, not the archive
      seen++
      onProgress?.(seen)
      if (ref.fromSeq > expected)
        problem(ref.key, 'gap', `sequences ${expected}..${ref.fromSeq - 1} are in no segment`)
      else if (ref.fromSeq < expected)
        problem(ref.key, 'overlap', `starts at ${ref.fromSeq}, ${expected - 1} was covered`)
      expected = Math.max(expected, ref.toSeq + 1)
      segments++
      bytes += ref.bytes
      let body: Uint8Array
      try {
        body = await store.body(ref.key)
      } catch (e) {
        problem(ref.key, 'unreadable', (e as Error).message)
        continue
      }
      const d = decodeSegment(ref, body)
      if (!d.ok) problem(ref.key, d.kind, d.detail)
      else events += d.messages.length
    }
    if (expected <= archivedTo)
      problem('', 'gap', `the checkpoint says ${archivedTo}, the segments end at ${expected - 1}`)
    if (hotFrom > archivedTo + 1)
      problem(
        '',
        'behind-stream',
        `the stream starts at ${hotFrom}: ${archivedTo + 1}..${hotFrom - 1} are neither archived nor hot`,
      )
    shards.push({ shard, segments, events, bytes, archivedTo, hotFrom })
  }
  return { shards, problems }
}
