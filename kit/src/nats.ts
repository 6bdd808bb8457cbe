import type { KvSpec, StreamSpec } from '@chatapp/contracts'
import {
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import { nanos } from '@nats-io/nats-core'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import type { Logger } from './logger.js'
import { coalesceWrites } from './nats-write-coalescing.js'

export type { NatsConnection }

/**
 * Connects with unlimited reconnects: a NATS restart must never take a service down, it only
 * makes it unready until the connection is back.
 */
export const connectNats = async (url: string, name: string, log: Logger): Promise<NatsConnection> => {
  const nc = await connect({
    servers: url.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
    // Without it nats.js builds an Error with a stack trace around every request, publish
    // included, for a diagnostic we never read: ~10 % of the gateway's CPU per message.
    noAsyncTraces: true,
  })
  if (!coalesceWrites(nc))
    log.warn('nats.js internals changed: socket writes are not coalesced per event-loop turn')
  ;(async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') {
        log.warn({ nats: s.type, server: 'server' in s ? s.server : undefined }, 'nats connection status')
      }
    }
  })().catch(() => {})
  return nc
}

/** Readiness: connected, not reconnecting, not draining. */
export const natsUp = (nc: NatsConnection) => (): boolean =>
  !nc.isClosed() && !nc.isDraining() && nc.info !== undefined

const toStreamConfig = (s: StreamSpec): Partial<StreamConfig> & { name: string } => ({
  name: s.name,
  description: s.description,
  subjects: s.subjects,
  retention: s.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
  storage: s.storage === 'file' ? StorageType.File : StorageType.Memory,
  num_replicas: s.replicas,
  duplicate_window: nanos(s.duplicateWindowMs),
  max_msg_size: s.maxMsgSize,
  max_age: nanos(s.maxAgeMs),
  allow_direct: s.allowDirect,
  ...(s.republish
    ? { republish: { src: s.republish.src, dest: s.republish.dest, headers_only: false } }
    : {}),
})

const isNotFound = (e: unknown) => e instanceof JetStreamApiError && e.status === 404

/** Creates each stream, or updates it to the spec: safe to run on every start, from any process. */
export const ensureStreams = async (jsm: JetStreamManager, specs: StreamSpec[]): Promise<void> => {
  for (const s of specs) {
    const config = toStreamConfig(s)
    try {
      await jsm.streams.info(s.name)
      await jsm.streams.update(s.name, config)
    } catch (e) {
      if (!isNotFound(e)) throw e
      await jsm.streams.add(config)
    }
  }
}

/**
 * Creates each bucket, or updates its stream to the spec: `Kvm.create` leaves an existing bucket
 * as it is, so a namespace provisioned at R1 would never reach R3 without the update.
 */
export const ensureKv = async (nc: NatsConnection, specs: KvSpec[]): Promise<void> => {
  const kvm = new Kvm(nc)
  const jsm = await jetstreamManager(nc)
  for (const k of specs) {
    await kvm.create(k.bucket, {
      description: k.description,
      history: k.history,
      replicas: k.replicas,
      ...(k.ttlMs > 0 ? { ttl: k.ttlMs } : {}),
    })
    const stream = `KV_${k.bucket}`
    const { config } = await jsm.streams.info(stream)
    const want = {
      description: k.description,
      max_msgs_per_subject: k.history,
      num_replicas: k.replicas,
      max_age: nanos(k.ttlMs),
    }
    if (Object.entries(want).some(([key, v]) => config[key as keyof typeof want] !== v))
      await jsm.streams.update(stream, want)
  }
}

/** Removes every stream and KV bucket of a namespace: for tests and `infra reset`, never for production data. */
export const deleteNamespaceStreams = async (jsm: JetStreamManager, ns: string): Promise<number> => {
  let n = 0
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(`${ns}-`) || name.startsWith(`KV_${ns}-`)) {
      await jsm.streams.delete(name).catch((e: unknown) => {
        if (!isNotFound(e)) throw e
      })
      n++
    }
  }
  return n
}

export { jetstreamManager }
