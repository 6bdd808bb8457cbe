import { readFileSync } from 'node:fs'
import { isChatClientError } from '@chatapp/client'
import type { UploadResponse } from '@chatapp/contracts'
import { encodeHistogram, newHistogram, recordUs } from '../core/latency.js'
import { mapLimit } from './accounts.js'
import type { ChatLoad } from './chat-load.js'
import type { MediaResult, MediaStep } from './messages.js'

const nowUs = () => performance.now() * 1000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Photo and video messages as an app sends them: upload the file over HTTP, send a message naming
 * the media id, then wait for the media worker's `media.ready` (or `media.failed`) to reach the
 * conversation. Measures upload time, time to ready and the worker's throughput.
 */
export const runMediaLoad = async (chat: ChatLoad, step: MediaStep): Promise<MediaResult> => {
  const files = {
    image: { bytes: readFileSync(step.photoPath), mime: 'image/jpeg' },
    video: { bytes: readFileSync(step.videoPath), mime: 'video/mp4' },
  } as const
  const upload = newHistogram()
  const toReady = { image: newHistogram(), video: newHistogram() }
  const waiting = new Map<string, { t0: number; kind: 'image' | 'video' }>()
  let ready = 0
  let failed = 0
  const errors: Record<string, number> = {}
  chat.onMedia = (_conv, mediaId, ok) => {
    const w = waiting.get(mediaId)
    if (!w) return // a second member seeing the same media
    waiting.delete(mediaId)
    if (ok) {
      ready++
      recordUs(toReady[w.kind], nowUs() - w.t0)
    } else failed++
  }
  const parts = chat.participants()
  const jobs = Array.from({ length: step.uploads }, (_, i) => ({
    // Photos spread evenly among the videos, floor(uploads × share) of them.
    kind:
      Math.floor((i + 1) * step.photoShare) > Math.floor(i * step.photoShare)
        ? ('image' as const)
        : ('video' as const),
    part: parts[i % parts.length]!,
  }))
  const t0 = performance.now()
  await mapLimit(jobs, step.concurrency, async (job) => {
    const f = files[job.kind]
    const start = nowUs()
    try {
      const r = await fetch(`${step.httpUrl}/v1/media`, {
        method: 'POST',
        headers: { authorization: `Bearer ${job.part.sender.token()}`, 'content-type': f.mime },
        body: f.bytes,
        signal: AbortSignal.timeout(120_000),
      })
      if (r.status !== 201) {
        errors[`HTTP ${r.status}`] = (errors[`HTTP ${r.status}`] ?? 0) + 1
        return
      }
      const up = (await r.json()) as UploadResponse
      recordUs(upload, nowUs() - start)
      waiting.set(up.mediaId, { t0: start, kind: job.kind })
      await job.part.sender.client.send(job.part.conversationId, { kind: job.kind, mediaId: up.mediaId })
    } catch (e) {
      const code = isChatClientError(e) ? e.code : 'EXCEPTION'
      errors[code] = (errors[code] ?? 0) + 1
    }
  })
  const uploadedAt = performance.now()
  const deadline = uploadedAt + step.readyTimeoutMs
  while (waiting.size > 0 && performance.now() < deadline) await sleep(50)
  const seconds = (performance.now() - t0) / 1000
  return {
    uploads: step.uploads,
    ready,
    failed,
    notReady: waiting.size,
    errors,
    seconds,
    upload: encodeHistogram(upload),
    imageToReady: encodeHistogram(toReady.image),
    videoToReady: encodeHistogram(toReady.video),
  }
}
