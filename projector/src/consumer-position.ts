import type { Names } from '@chatapp/contracts'
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
} from '@nats-io/jetstream'
import { nanos } from '@nats-io/nats-core'

/** Where a shard's consumer was placed, as the server reported it when it was created. */
export interface Placement {
  /** The node that holds the consumer (and the copy of the stream it delivers from). */
  node: string | undefined
  /** The stream's leader when the consumer was created. */
  leader: string | undefined
}

/**
 * How many times a consumer placed off the stream's leader is re-created before accepting it. The
 * server picks a replica uniformly (150 creations on R3: 44, 61, 45), so all tries miss with
 * probability (2/3)^tries: 0.8 % per start at 12, which failed leader-placement.test.ts's six
 * starts in one run of five; 5e-6 at 30, for a few milliseconds per try.
 */
const PLACEMENT_TRIES = 30

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
 *
 * Placement: an R1 consumer delivers from its own node's copy of the stream, and the server picks
 * that node among the stream's replicas at random. Replicas are not always the log: nats-server
 * 2.9 can leave a follower holding events its leader never committed (a stream fork, seen in the
 * chaos run), and a projector reading that copy writes views that disagree with the log every
 * other reader (leader gets, `verify`) sees. So the consumer is re-created until it sits on the
 * stream's leader (a third of tries on R3); after PLACEMENT_TRIES it is kept where it is — a
 * stalled shard would be worse — and the shard's watch repositions it later (ShardConsumer).
 */
export const positionConsumer = async (
  jsm: JetStreamManager,
  n: Names,
  shard: number,
  startSeq: number,
  shape: ConsumerShape,
): Promise<Placement> => {
  const stream = n.convStream(shard)
  for (let tries = 1; ; tries++) {
    let node: string | undefined
    try {
      node = await createConsumer(jsm, n, shard, startSeq, shape)
    } catch (err) {
      // Another process re-created the durable between our delete and our add (a second
      // positioner, an operator, an older projector): our add then reads as an update of theirs
      // and is refused (10012 "start sequence can not be updated", or "consumer already exists"
      // 10013 / 10148 by version). Delete and add again, a bounded number of times. Seen in
      // projector/test/consumer-moves.test.ts under load.
      if (tries < PLACEMENT_TRIES && isConsumerExists(err)) continue
      throw err
    }
    const leader = (await jsm.streams.info(stream)).cluster?.leader
    // A clustered stream, but the create's answer named no node (its R1 group had not elected
    // itself yet): ask again, or the placement could never be judged nor watched.
    if (leader && !node) node = await placedOn(jsm, stream, n.projectorConsumer(shard))
    // Not clustered (no leader named), or on the leader, or out of tries.
    if (!leader || !node || node === leader || tries >= PLACEMENT_TRIES) return { node, leader }
  }
}

/** The node holding a consumer, from its info, asked a few times while none is named (bounded). */
const placedOn = async (
  jsm: JetStreamManager,
  stream: string,
  durable: string,
): Promise<string | undefined> => {
  for (let i = 0; i < 20; i++) {
    const node = (await jsm.consumers.info(stream, durable).catch(() => undefined))?.cluster?.leader
    if (node) return node
    await new Promise((r) => setTimeout(r, 50))
  }
  return undefined
}

const CONSUMER_EXISTS = new Set([10012, 10013, 10148])
const isConsumerExists = (err: unknown): boolean =>
  err instanceof JetStreamApiError && CONSUMER_EXISTS.has(err.code)

/** Deletes the durable consumer (if any) and creates it at `startSeq`; returns the node holding it. */
const createConsumer = async (
  jsm: JetStreamManager,
  n: Names,
  shard: number,
  startSeq: number,
  shape: ConsumerShape,
): Promise<string | undefined> => {
  const stream = n.convStream(shard)
  const durable = n.projectorConsumer(shard)
  try {
    await jsm.consumers.delete(stream, durable)
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err
  }
  const ci = await jsm.consumers.add(stream, {
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
  return ci.cluster?.leader
}
