import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type EventData, type MediaJob, mediaKeys, type Variant, type VariantName } from '@chatapp/contracts'
import { type AvTools, audioLevels, extractFrame, probeAv, transcodeAudio, transcodeVideo } from './av.js'
import { PermanentFailure } from './failure.js'
import { placeholder, probeImage, renderImage, renderStills } from './image.js'
import { type Plan, type PlanConfig, plan, type Rendition, waveform } from './plan.js'
import type { MediaStore } from './store.js'

export type ReadyData = EventData<'media.ready'>

export interface JobDeps {
  store: MediaStore
  av: AvTools
  config: PlanConfig
  /** Largest original the worker will fetch (the gateway's upload limits are lower). */
  maxOriginalBytes: number
  tmpRoot?: string
}

const IMAGE_MIME = { webp: 'image/webp', jpeg: 'image/jpeg' } as const

/**
 * One job, start to end: fetch the original into a private temp dir, probe, plan, render,
 * upload the variants, write the manifest. Idempotent: a manifest already in S3 (a redelivery, or
 * the same media shared in a second conversation) is reused without decoding anything again.
 */
export const processJob = async (job: MediaJob, d: JobDeps): Promise<ReadyData> => {
  const existing = await d.store.getJson(mediaKeys.manifest(job.mediaId))
  if (existing && typeof existing === 'object' && (existing as ReadyData).mediaId === job.mediaId)
    return existing as ReadyData
  if (job.kind === 'document') {
    // Stored as uploaded: nothing to decode, so nothing is downloaded; only its presence matters.
    if ((await d.store.size(job.key)) === undefined)
      throw new PermanentFailure('MEDIA_NOT_FOUND', `original ${job.key} is missing`)
    const ready: ReadyData = { mediaId: job.mediaId, variants: [] }
    await d.store.putBuffer(
      mediaKeys.manifest(job.mediaId),
      Buffer.from(JSON.stringify(ready)),
      'application/json',
    )
    return ready
  }
  const dir = await mkdtemp(join(d.tmpRoot ?? tmpdir(), 'media-'))
  try {
    const input = join(dir, 'original')
    await d.store.download(job.key, input, d.maxOriginalBytes)
    const ready = await render(job, input, dir, d)
    await d.store.putBuffer(
      mediaKeys.manifest(job.mediaId),
      Buffer.from(JSON.stringify(ready)),
      'application/json',
    )
    return ready
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const must = (p: ReturnType<typeof plan>): Plan => {
  if (!p.ok) throw new PermanentFailure(p.code, p.reason)
  return p.plan
}

const render = async (job: MediaJob, input: string, dir: string, d: JobDeps): Promise<ReadyData> => {
  const limits = { maxPixels: d.config.maxPixels }
  switch (job.kind) {
    case 'document':
      // handled before anything is downloaded (processJob)
      return { mediaId: job.mediaId, variants: [] }
    case 'image': {
      const probe = await probeImage(input, limits)
      const p = must(plan(job, probe, d.config))
      const stills = await renderStills(
        input,
        probe,
        p.renditions.filter((r) => r.op === 'image'),
        limits,
      )
      const variants = await Promise.all(
        stills.renditions.map(async ({ rendition: r, out }): Promise<Variant> => {
          const mime = IMAGE_MIME[r.format]
          const size = await d.store.putBuffer(mediaKeys.variant(job.mediaId, r.name), out.data, mime)
          return { name: r.name, mime, size, width: out.width, height: out.height }
        }),
      )
      return {
        mediaId: job.mediaId,
        variants,
        width: p.width!,
        height: p.height!,
        placeholder: stills.placeholder,
      }
    }
    case 'video': {
      const probe = await probeAv(d.av, job.mime, input)
      const p = must(plan(job, probe, d.config))
      const variants: Variant[] = []
      let preview: string | undefined
      for (const r of p.renditions)
        variants.push(...(await renderAv(job, input, dir, r, d, (s) => (preview = s))))
      return {
        mediaId: job.mediaId,
        variants,
        width: p.width!,
        height: p.height!,
        ...(p.durationMs !== undefined ? { durationMs: p.durationMs } : {}),
        ...(preview ? { placeholder: preview } : {}),
      }
    }
    case 'audio': {
      const p = must(plan(job, await probeAv(d.av, job.mime, input), d.config))
      const variants: Variant[] = []
      for (const r of p.renditions) variants.push(...(await renderAv(job, input, dir, r, d, () => {})))
      const levels = await audioLevels(d.av, job.mime, input, d.config.maxDurationMs)
      const durationMs = p.durationMs ?? levels.length * 100
      return { mediaId: job.mediaId, variants, durationMs, waveform: waveform(levels, p.waveformBuckets) }
    }
    default: {
      const never: never = job.kind
      throw new PermanentFailure('MEDIA_UNSUPPORTED', `unknown kind ${String(never)}`)
    }
  }
}

const renderAv = async (
  job: MediaJob,
  input: string,
  dir: string,
  r: Rendition,
  d: JobDeps,
  setPlaceholder: (dataUrl: string) => void,
): Promise<Variant[]> => {
  const key = (name: VariantName) => mediaKeys.variant(job.mediaId, name)
  switch (r.op) {
    case 'video': {
      const out = join(dir, 'video.mp4')
      await transcodeVideo(d.av, job.mime, input, r, out, d.config.maxDurationMs)
      const size = await d.store.putFile(key('video'), out, 'video/mp4')
      return [{ name: 'video', mime: 'video/mp4', size, width: r.width, height: r.height }]
    }
    case 'poster': {
      const frame = join(dir, 'poster.png')
      await extractFrame(d.av, job.mime, input, r.atMs, r, frame)
      const limits = { maxPixels: d.config.maxPixels }
      const still = {
        name: 'poster',
        op: 'image',
        format: 'jpeg',
        maxSide: Math.max(r.width, r.height),
        quality: 80,
      } as const
      const out = await renderImage(frame, still, limits)
      const size = await d.store.putBuffer(key('poster'), out.data, 'image/jpeg')
      setPlaceholder(await placeholder(frame, limits))
      return [{ name: 'poster', mime: 'image/jpeg', size, width: out.width, height: out.height }]
    }
    case 'audio': {
      const out = join(dir, 'audio.m4a')
      await transcodeAudio(d.av, job.mime, input, r, out, d.config.maxDurationMs)
      const size = await d.store.putFile(key('audio'), out, 'audio/mp4')
      return [{ name: 'audio', mime: 'audio/mp4', size }]
    }
    case 'image':
      throw new PermanentFailure('MEDIA_UNSUPPORTED', 'a still rendition in an audio/video plan')
    default: {
      const never: never = r
      throw new PermanentFailure('MEDIA_UNSUPPORTED', `unknown rendition ${String(never)}`)
    }
  }
}
