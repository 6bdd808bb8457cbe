import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import {
  type ChatEvent,
  decodeEvent,
  encodeJson,
  type MediaJob,
  type MediaKind,
  mediaKeys,
} from '@chatapp/contracts'
import { s3Client, type TestNamespace } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { Registry } from 'prom-client'
import { createAvTools } from '../../src/av.js'
import { workerMetrics } from '../../src/mod.js'
import { DEFAULT_PLAN_CONFIG } from '../../src/plan.js'
import { type MediaStore, s3MediaStore } from '../../src/store.js'
import { ensureConsumer, queueDepth, startWorker, type Worker } from '../../src/worker.js'
import { FFMPEG } from './fixtures.js'

/** A worker on a test namespace, with helpers to submit jobs and await their events. */
export interface Harness {
  s3: S3Client
  registry: Registry
  submit(kind: MediaKind, mime: string, bytes: Buffer, conversationId?: string): Promise<MediaJob>
  publishJob(job: MediaJob): Promise<void>
  /** Resolves with the media.ready/media.failed event of the media in the conversation. */
  outcome(job: Pick<MediaJob, 'mediaId' | 'conversationId'>, timeoutMs?: number): Promise<ChatEvent>
  get(key: string): Promise<Buffer>
  startWorker(opts?: { store?: MediaStore; maxAttempts?: number }): Promise<Worker>
  close(): Promise<void>
}

let seq = 0
export const newId = (prefix: string): string =>
  `${prefix}_${Date.now().toString(36)}${(++seq).toString().padStart(4, '0')}`

export const harness = async (tn: TestNamespace, ackWaitMs = 3000): Promise<Harness> => {
  const n = tn.names
  const s3 = s3Client(tn.stack.s3)
  const js = jetstream(tn.nc)
  const jsm = await jetstreamManager(tn.nc)
  await ensureConsumer(jsm, n, ackWaitMs)
  const events: ChatEvent[] = []
  const waiters = new Set<() => void>()
  const sub = tn.nc.subscribe(`${n.ns}.live.conv.>`, {
    callback: (_e, m) => {
      const d = decodeEvent(m.data)
      if (d.ok) events.push(d.value)
      for (const w of waiters) w()
    },
  })
  const registry = new Registry()
  const metrics = workerMetrics(registry, queueDepth(jsm, n))
  const workers: Worker[] = []
  const av = await createAvTools({ ffmpeg: FFMPEG, timeoutMs: 60_000, memoryBytes: 1024 ** 3, threads: 1 })
  const h: Harness = {
    s3,
    registry,
    async publishJob(job) {
      await js.publish(n.mediaJobSubject(job.kind), encodeJson(job), {
        msgID: `${job.mediaId}:${job.conversationId}`,
      })
    },
    async submit(kind, mime, bytes, conversationId = newId('c')) {
      const mediaId = newId('m')
      const key = mediaKeys.original(mediaId)
      await s3.send(new PutObjectCommand({ Bucket: n.s3Bucket, Key: key, Body: bytes, ContentType: mime }))
      const job: MediaJob = {
        v: 1,
        mediaId,
        conversationId,
        uploaderId: 'u_uploader1',
        kind,
        mime,
        size: bytes.length,
        key,
        enqueuedAt: Date.now(),
      }
      await h.publishJob(job)
      return job
    },
    outcome: (job, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const find = () =>
          events.find(
            (e) =>
              e.conversationId === job.conversationId &&
              (e.type === 'media.ready' || e.type === 'media.failed') &&
              e.data.mediaId === job.mediaId,
          )
        const check = () => {
          const e = find()
          if (!e) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(e)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no media event for ${job.mediaId} within ${timeoutMs} ms`))
        }, timeoutMs)
        waiters.add(check)
        check()
      }),
    async get(key) {
      const res = await s3.send(new GetObjectCommand({ Bucket: n.s3Bucket, Key: key }))
      return Buffer.from(await res.Body!.transformToByteArray())
    },
    async startWorker(opts = {}) {
      const w = await startWorker({
        js,
        jsm,
        names: n,
        concurrency: 2,
        maxAttempts: opts.maxAttempts ?? 3,
        ackWaitMs,
        metrics,
        log: createLogger('media-worker-test', 'silent'),
        deps: {
          store: opts.store ?? s3MediaStore(s3, n.s3Bucket),
          config: { ...DEFAULT_PLAN_CONFIG, videoMaxHeight: 240, maxPixels: 40_000_000 },
          maxOriginalBytes: 50 * 1024 * 1024,
          av,
        },
      })
      workers.push(w)
      return w
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop()))
      sub.unsubscribe()
      await av.close()
      s3.destroy()
    },
  }
  return h
}
