import type { ErrorCode, MediaJob, VariantName } from '@chatapp/contracts'

/**
 * What to make of one media, decided from the job and a probe of the file: pure, so every rule
 * (sizes, formats, limits) is tested without sharp or ffmpeg.
 */

/** What the decoders found in the file, before any rendition is made. */
export interface Probe {
  /** Display dimensions, after the EXIF orientation or the video rotation is applied. */
  width?: number
  height?: number
  durationMs?: number
  hasVideo: boolean
  hasAudio: boolean
  /** Container/codec names as the decoder reports them, for the logs and error messages. */
  format?: string
}

export interface PlanConfig {
  /** Decode limit against decompression bombs (width x height). */
  maxPixels: number
  videoMaxHeight: number
  maxDurationMs: number
  thumbSize: number
  displaySize: number
  videoMaxBitrateKbps: number
  audioBitrateKbps: number
  waveformBuckets: number
}

export const DEFAULT_PLAN_CONFIG: PlanConfig = {
  maxPixels: 100_000_000,
  videoMaxHeight: 720,
  maxDurationMs: 60 * 60_000,
  thumbSize: 320,
  displaySize: 1600,
  videoMaxBitrateKbps: 2000,
  audioBitrateKbps: 96,
  waveformBuckets: 64,
}

export type Rendition =
  /** A still image, bounded by `maxSide` on its longer side, never enlarged. */
  | { name: VariantName; op: 'image'; format: 'webp' | 'jpeg'; maxSide: number; quality: number }
  /** H.264/AAC MP4 with faststart, scaled to `height` (even), bitrate capped. */
  | {
      name: 'video'
      op: 'video'
      width: number
      height: number
      maxBitrateKbps: number
      audio: boolean
      audioBitrateKbps: number
    }
  /** A frame of the video at `atMs`, as a JPEG of the video rendition's size. */
  | { name: 'poster'; op: 'poster'; atMs: number; width: number; height: number }
  | { name: 'audio'; op: 'audio'; codec: 'aac'; bitrateKbps: number }

export interface Plan {
  renditions: Rendition[]
  /** Make a tiny blurred data-URL preview (from the image, or from the poster for video). */
  placeholder: boolean
  /** Buckets of the loudness summary for audio; 0 for none. */
  waveformBuckets: number
  width?: number
  height?: number
  durationMs?: number
}

export type Planned = { ok: true; plan: Plan } | { ok: false; code: ErrorCode; reason: string }

const fail = (code: ErrorCode, reason: string): Planned => ({ ok: false, code, reason })

const even = (n: number): number => Math.max(2, Math.round(n / 2) * 2)

/** The largest even box of at most `maxHeight` lines with the source's aspect ratio. */
export const fitVideo = (w: number, h: number, maxHeight: number): { width: number; height: number } => {
  // Height is the bound for landscape; for portrait the shorter side (width) plays that role,
  // so a 1080x1920 phone video becomes 720x1280, like a 1920x1080 one becomes 1280x720.
  const short = Math.min(w, h)
  const scale = short > maxHeight ? maxHeight / short : 1
  return { width: even(w * scale), height: even(h * scale) }
}

const planImage = (p: Probe, c: PlanConfig): Planned => {
  if (!p.width || !p.height) return fail('MEDIA_CORRUPT', 'the image has no dimensions')
  if (p.width * p.height > c.maxPixels)
    return fail('MEDIA_TOO_MANY_PIXELS', `${p.width}x${p.height} exceeds ${c.maxPixels} pixels`)
  const still = (name: VariantName, format: 'webp' | 'jpeg', maxSide: number): Rendition => ({
    name,
    op: 'image',
    format,
    maxSide,
    quality: format === 'webp' ? 80 : 82,
  })
  return {
    ok: true,
    plan: {
      renditions: [
        still('thumb', 'webp', c.thumbSize),
        still('thumb-fallback', 'jpeg', c.thumbSize),
        still('display', 'webp', c.displaySize),
        still('display-fallback', 'jpeg', c.displaySize),
      ],
      placeholder: true,
      waveformBuckets: 0,
      width: p.width,
      height: p.height,
    },
  }
}

const planVideo = (p: Probe, c: PlanConfig): Planned => {
  if (!p.hasVideo || !p.width || !p.height) return fail('MEDIA_UNSUPPORTED', 'no video stream')
  if (p.width * p.height > c.maxPixels)
    return fail('MEDIA_TOO_MANY_PIXELS', `${p.width}x${p.height} exceeds ${c.maxPixels} pixels`)
  if (p.durationMs !== undefined && p.durationMs > c.maxDurationMs)
    return fail('MEDIA_TOO_LONG', `${p.durationMs} ms exceeds ${c.maxDurationMs} ms`)
  const box = fitVideo(p.width, p.height, c.videoMaxHeight)
  const duration = p.durationMs ?? 0
  return {
    ok: true,
    plan: {
      renditions: [
        {
          name: 'video',
          op: 'video',
          ...box,
          maxBitrateKbps: c.videoMaxBitrateKbps,
          audio: p.hasAudio,
          audioBitrateKbps: c.audioBitrateKbps,
        },
        // A frame a little in, not the first one, which is often black; never past the end.
        { name: 'poster', op: 'poster', atMs: Math.min(1000, Math.floor(duration / 2)), ...box },
      ],
      placeholder: true,
      waveformBuckets: 0,
      width: box.width,
      height: box.height,
      ...(p.durationMs !== undefined ? { durationMs: p.durationMs } : {}),
    },
  }
}

const planAudio = (p: Probe, c: PlanConfig): Planned => {
  if (!p.hasAudio) return fail('MEDIA_UNSUPPORTED', 'no audio stream')
  if (p.durationMs !== undefined && p.durationMs > c.maxDurationMs)
    return fail('MEDIA_TOO_LONG', `${p.durationMs} ms exceeds ${c.maxDurationMs} ms`)
  return {
    ok: true,
    plan: {
      renditions: [{ name: 'audio', op: 'audio', codec: 'aac', bitrateKbps: c.audioBitrateKbps }],
      placeholder: false,
      waveformBuckets: c.waveformBuckets,
      ...(p.durationMs !== undefined ? { durationMs: p.durationMs } : {}),
    },
  }
}

/** Documents are stored as they are: no rendition, nothing to decode. */
const planDocument = (): Planned => ({
  ok: true,
  plan: { renditions: [], placeholder: false, waveformBuckets: 0 },
})

export const plan = (
  job: Pick<MediaJob, 'kind'>,
  probe: Probe,
  c: PlanConfig = DEFAULT_PLAN_CONFIG,
): Planned => {
  switch (job.kind) {
    case 'image':
      return planImage(probe, c)
    case 'video':
      return planVideo(probe, c)
    case 'audio':
      return planAudio(probe, c)
    case 'document':
      return planDocument()
    default: {
      const never: never = job.kind
      return fail('MEDIA_UNSUPPORTED', `unknown kind ${String(never)}`)
    }
  }
}

/**
 * Loudness summary for a voice note: `levels` are peak amplitudes (0..1) of short windows, in
 * order; they are folded into at most `buckets` values of 0-255, scaled so the loudest is 255.
 */
export const waveform = (levels: readonly number[], buckets: number): number[] => {
  if (levels.length === 0 || buckets <= 0) return []
  const n = Math.min(buckets, levels.length)
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const from = Math.floor((i * levels.length) / n)
    const to = Math.max(from + 1, Math.floor(((i + 1) * levels.length) / n))
    let peak = 0
    for (let j = from; j < to; j++) peak = Math.max(peak, levels[j]!)
    out.push(peak)
  }
  const max = Math.max(...out)
  return out.map((x) => (max > 0 ? Math.round((Math.min(1, x) / Math.min(1, max)) * 255) : 0))
}
