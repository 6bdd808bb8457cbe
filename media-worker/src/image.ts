import sharp from 'sharp'
import { PermanentFailure } from './failure.js'
import type { Probe, Rendition } from './plan.js'

/**
 * sharp adapter. Every decode carries `limitInputPixels` (decompression bombs), reads only the
 * first frame of animations, and fails on a decode error instead of returning half an image.
 * Output never carries metadata: sharp drops EXIF/XMP/ICC unless asked to keep them, and
 * `.rotate()` applies the EXIF orientation to the pixels first, so nothing is lost by stripping.
 */
export interface ImageLimits {
  maxPixels: number
  /** Wall-clock bound of one encode (libvips stops the pipeline); default 60 s. */
  timeoutSeconds?: number
}

const open = (input: string | Buffer, l: ImageLimits) =>
  sharp(input, {
    limitInputPixels: l.maxPixels,
    failOn: 'error',
    animated: false,
    sequentialRead: true,
  }).timeout({
    seconds: l.timeoutSeconds ?? 60,
  })

/** Maps sharp/libvips messages to stable codes; anything unrecognised about the bytes is corrupt. */
export const classifySharpError = (e: unknown): PermanentFailure => {
  const msg = String((e as Error)?.message ?? e)
  if (/pixel limit/i.test(msg))
    return new PermanentFailure('MEDIA_TOO_MANY_PIXELS', msg.slice(0, 500), { cause: e })
  if (/^timeout/i.test(msg)) return new PermanentFailure('MEDIA_TIMEOUT', msg.slice(0, 500), { cause: e })
  if (/unsupported image format|no decoding plugin|compression format has not been built in|heif:/i.test(msg))
    return new PermanentFailure('MEDIA_UNSUPPORTED', msg.slice(0, 500), { cause: e })
  return new PermanentFailure('MEDIA_CORRUPT', msg.slice(0, 500), { cause: e })
}

export const probeImage = async (path: string | Buffer, l: ImageLimits): Promise<Probe> => {
  try {
    const m = await sharp(path, { limitInputPixels: false, animated: false }).metadata()
    if (!m.width || !m.height) throw new Error('no dimensions')
    // EXIF orientations 5-8 turn the picture a quarter: the displayed size is swapped.
    const swap = (m.orientation ?? 1) >= 5
    const probe: Probe = {
      width: swap ? m.height : m.width,
      height: swap ? m.width : m.height,
      hasVideo: false,
      hasAudio: false,
      ...(m.format ? { format: m.format } : {}),
    }
    // The header alone can declare a bomb; refuse before any pixel is decoded.
    if (m.width * m.height > l.maxPixels)
      throw new PermanentFailure(
        'MEDIA_TOO_MANY_PIXELS',
        `${m.width}x${m.height} exceeds ${l.maxPixels} pixels`,
      )
    return probe
  } catch (e) {
    throw e instanceof PermanentFailure ? e : classifySharpError(e)
  }
}

export interface Rendered {
  data: Buffer
  width: number
  height: number
}

export const renderImage = async (
  input: string | Buffer,
  r: Extract<Rendition, { op: 'image' }>,
  l: ImageLimits,
): Promise<Rendered> => {
  try {
    const pipeline = open(input, l)
      .rotate()
      .resize({ width: r.maxSide, height: r.maxSide, fit: 'inside', withoutEnlargement: true })
    const encoded =
      r.format === 'webp'
        ? pipeline.webp({ quality: r.quality })
        : pipeline.flatten({ background: '#ffffff' }).jpeg({ quality: r.quality, mozjpeg: true })
    const { data, info } = await encoded.toBuffer({ resolveWithObject: true })
    return { data, width: info.width, height: info.height }
  } catch (e) {
    throw classifySharpError(e)
  }
}

/** A ~16 px blurred JPEG as a data URL: a few hundred bytes a client shows while loading. */
export const placeholder = async (input: string | Buffer, l: ImageLimits): Promise<string> => {
  try {
    const data = await open(input, l)
      .rotate()
      .resize({ width: 16, height: 16, fit: 'inside' })
      .flatten({ background: '#ffffff' })
      .blur(1)
      .jpeg({ quality: 40 })
      .toBuffer()
    return `data:image/jpeg;base64,${data.toString('base64')}`
  } catch (e) {
    throw classifySharpError(e)
  }
}
