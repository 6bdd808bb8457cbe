import { randomBytes } from 'node:crypto'
import { type Names, streamSpecs } from '@chatapp/contracts'
import { ensureStreams, jetstreamManager, type NatsConnection } from '@chatapp/kit'
import { jetstream } from '@nats-io/jetstream'
import { headers } from '@nats-io/nats-core'
import { newHistogram, recordUs, summarize } from '../core/latency.js'
import type { JetStreamCeiling } from '../core/result.js'
import { stampText } from '../core/stamp.js'

/**
 * What JetStream alone allows on this machine: the same client library (nats.js), a temporary
 * stream with the shard streams' settings (file storage, RePublish, duplicate window, direct
 * get), and appends shaped like the gateway's: a `message.sent` event of the same text size,
 * `Nats-Msg-Id` for de-duplication, and `Nats-Expected-Last-Subject-Sequence` per conversation
 * subject with at most one append in flight per conversation.
 */
export interface JetStreamCeilingOptions {
  nc: NatsConnection
  names: Names
  textBytes: number
  durationMs: number
  window: number
  conversations: number
}

const eventPayload = (conversationId: string, n: number, textBytes: number): Uint8Array =>
  new TextEncoder().encode(
    JSON.stringify({
      v: 1,
      type: 'message.sent',
      id: `${conversationId}:u_ceiling00:${n}`,
      conversationId,
      actor: 'u_ceiling00',
      at: Date.now(),
      data: {
        clientMsgId: `cm${n.toString().padStart(8, '0')}`,
        deviceId: 'bench',
        n,
        kind: 'text',
        text: stampText({ sender: 0, n, sentAtUs: 0 }, textBytes),
      },
    }),
  )

export const measureJetStream = async (o: JetStreamCeilingOptions): Promise<JetStreamCeiling> => {
  const n = o.names
  const shardSpec = streamSpecs(n)[0]!
  const name = `${n.ns}-ceiling`
  const subjects = `${n.ns}.ceiling.>`
  const jsm = await jetstreamManager(o.nc)
  await ensureStreams(jsm, [
    {
      ...shardSpec,
      name,
      subjects: [subjects],
      republish: { src: subjects, dest: `${n.ns}.live.ceiling.>` },
    },
  ])
  const js = jetstream(o.nc)
  // A multiple of the window, so the lanes below never share a conversation.
  const convCount = o.window * Math.max(1, Math.ceil(o.conversations / o.window))
  const convs = Array.from({ length: convCount }, () => `d_${randomBytes(6).toString('hex')}`)
  const lastSeq = new Map<string, number>()
  let count = 0
  const append = async (conv: string, h: ReturnType<typeof newHistogram>) => {
    const i = ++count
    const hdrs = headers()
    hdrs.set('Nats-Msg-Id', `${conv}:u_ceiling00:${i}`)
    hdrs.set('Chat-Event', 'message.sent')
    hdrs.set('Nats-Expected-Last-Subject-Sequence', String(lastSeq.get(conv) ?? 0))
    const t0 = performance.now()
    const ack = await js.publish(`${n.ns}.ceiling.${conv}.m`, eventPayload(conv, i, o.textBytes), {
      headers: hdrs,
    })
    recordUs(h, (performance.now() - t0) * 1000)
    lastSeq.set(conv, ack.seq)
  }
  try {
    // Floor: one append at a time, for a fifth of the time.
    const floor = newHistogram()
    const floorEnd = performance.now() + o.durationMs / 5
    let k = 0
    while (performance.now() < floorEnd) await append(convs[k++ % convs.length]!, floor)

    // Throughput: `window` conversations appending back to back.
    const atMax = newHistogram()
    const end = performance.now() + o.durationMs
    const t0 = performance.now()
    const lanes = Array.from({ length: Math.min(o.window, convs.length) }, async (_, lane) => {
      let j = lane
      while (performance.now() < end) {
        await append(convs[j]!, atMax)
        j = (j + o.window) % convs.length
      }
    })
    await Promise.all(lanes)
    const seconds = (performance.now() - t0) / 1000
    const bytes = eventPayload(convs[0]!, 1, o.textBytes).length
    return {
      msgBytes: bytes,
      floor: summarize(floor),
      maxRate: Math.round(atMax.totalCount / seconds),
      window: Math.min(o.window, convs.length),
      atMax: summarize(atMax),
    }
  } finally {
    await jsm.streams.delete(name).catch(() => {})
  }
}
