import type { Names } from '@chatapp/contracts'
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
} from '@nats-io/jetstream'
import { nanos } from '@nats-io/nats-core'

export interface ConsumerShape {
  /** Events per applied batch: in-flight work is bounded by a few batches. */
  batch: number
  /** How long JetStream waits for an ack before redelivering. */
  ackWaitMs: number
}

/**
 * (Re)creates a shard's durable projector consumer so that its first delivery is the first stored
 * message at or after `startSeq` (the stored offset + 1). The consumer's own position is only a
 * cache of the offset in the views (ADR 0100): deleting it first drops whatever it believed was
 * delivered or acknowledged (messages handed to a process that died, or to a connection that
 * moved), and a fresh instance's first delivery vouches that nothing lies between `startSeq` and
 * it. Only the holder of the shard's lease calls this.
 */
export const positionConsumer = async (
  jsm: JetStreamManager,
  n: Names,
  shard: number,
  startSeq: number,
  shape: ConsumerShape,
): Promise<void> => {
  const stream = n.convStream(shard)
  const durable = n.projectorConsumer(shard)
  try {
    await jsm.consumers.delete(stream, durable)
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err
  }
  await jsm.consumers.add(stream, {
    durable_name: durable,
    description: `Projector of shard ${shard}: a cache of the views' offset, re-created from it (ADR 0100).`,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: startSeq,
    // One ack per batch (its last applied message), never past what is committed.
    ack_policy: AckPolicy.All,
    ack_wait: nanos(shape.ackWaitMs),
    // Bounded in-flight work: a slow database cannot make the process buffer the whole log.
    max_ack_pending: shape.batch * 4,
    // One replica in memory: the consumer is a cache of the stored offset, re-created from it
    // whenever anything looks wrong, so replicating it buys nothing — and on an R3 stream an R3
    // consumer is a raft group of its own, which a NATS node killed while others catch up can
    // leave without quorum for good ("has NO quorum, stalled", seen in the chaos run on 2.9.10).
    // If its node dies, the shard stalls, is repositioned, and the new one lands on a live node.
    num_replicas: 1,
    mem_storage: true,
  })
}
