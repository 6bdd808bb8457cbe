import type { ArchiveShardStatus, Names } from '@chatapp/contracts'
import type { ArchiveStore } from '@chatapp/kit'
import type { JetStreamManager } from '@nats-io/jetstream'

/**
 * `chatapp-ops archive status`: per shard, how far the archive is complete, where the stream
 * starts, the archive's size and how far it lags (in messages and in the age of the oldest
 * message not archived). From the checkpoints and the streams only: cheap at any size.
 */
export const archiveStatus = async (
  jsm: JetStreamManager,
  store: ArchiveStore,
  n: Names,
  now = Date.now(),
): Promise<ArchiveShardStatus[]> => {
  const out: ArchiveShardStatus[] = []
  for (let shard = 0; shard < n.shards; shard++) {
    const stream = n.convStream(shard)
    const [si, cp] = await Promise.all([jsm.streams.info(stream), store.checkpoint(shard)])
    const archivedTo = cp?.archivedTo ?? 0
    const s = si.state
    let lagSeconds = 0
    if (s.last_seq > archivedTo && s.messages > 0) {
      const q = { seq: Math.max(archivedTo + 1, s.first_seq), next_by_subj: n.convStreamSubjects(shard) }
      const m = await jsm.streams.getMessage(stream, q as unknown as { seq: number }).catch(() => null)
      if (m) lagSeconds = Math.max(0, (now - m.time.getTime()) / 1000)
    }
    out.push({
      shard,
      stream,
      archivedTo,
      hotFrom: s.first_seq,
      lastSeq: s.last_seq,
      segments: cp?.segments ?? 0,
      events: cp?.events ?? 0,
      bytes: cp?.bytes ?? 0,
      lagEvents: Math.max(0, s.last_seq - Math.max(archivedTo, s.first_seq - 1)),
      lagSeconds,
      hotEvents: s.messages,
      hotBytes: s.bytes,
    })
  }
  return out
}
