import type { JetStreamManager } from '@nats-io/jetstream'

export interface StreamPending {
  /** The stream's last sequence now. */
  lastSeq: number
  /** Messages stored after `offset`: what the views have not applied yet. */
  pending: number
  /** The node leading the stream's raft group (undefined when not clustered or while electing). */
  leader: string | undefined
}

/**
 * How many messages of a shard stream lie after an offset, counted in the stream itself, never
 * from a consumer's ack floor (which a crashed or moved consumer can put past a hole): so a view
 * that missed events can never read as caught up. Deleted messages are not counted.
 */
export const pendingAfter = async (
  jsm: JetStreamManager,
  stream: string,
  offset: number,
): Promise<StreamPending> => {
  const { state, cluster } = await jsm.streams.info(stream)
  const leader = cluster?.leader || undefined
  const from = Math.max(offset + 1, state.first_seq)
  if (state.last_seq < from) return { lastSeq: state.last_seq, pending: 0, leader }
  let pending = state.last_seq - from + 1
  if (state.num_deleted > 0) {
    const detailed = await jsm.streams.info(stream, { deleted_details: true })
    for (const seq of detailed.state.deleted ?? []) if (seq >= from && seq <= state.last_seq) pending--
  }
  return { lastSeq: state.last_seq, pending, leader }
}
