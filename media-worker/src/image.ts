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

/** Decoded, auto-oriented pixels: what every rendition of one image is made from. */
export interface RawImage {
  data: Buffer
  width: number
  height: number
  channels: 1 | 2 | 3 | 4
}

export type ImageInput = string | Buffer | RawImage

const isRaw = (input: ImageInput): input is RawImage =>
  typeof input === 'object' && !Buffer.isBuffer(input) && 'channels' in input

const open = (input: ImageInput, l: ImageLimits) =>
  (isRaw(input)
    ? sharp(input.data, {
        raw: { width: input.width, height: input.height, channels: input.channels },
        limitInputPixels: l.maxPixels,
      })
    : sharp(input, { limitInputPixels: l.maxPixels, failOn: 'error', animated: false, sequentialRead: true })
  ).timeout({
    seconds: l.timeoutSeconds ?? 60,
  })

/**
 * Decodes the original once, applies its EXIF orientation and shrinks it to `maxSide` (the
 * largest rendition; never enlarged). A 12 MP photo is decoded once instead of once per
 * rendition, and libvips' shrink-on-load makes that one decode cheaper still.
 */
export const decodeOnce = async (
  input: string | Buffer,
  maxSide: number,
  l: ImageLimits,
): Promise<RawImage> => {
  try {
    const { data, info } = await open(input, l)
      .rotate()
      .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true })
    return { data, width: info.width, height: info.height, channels: info.channels }
  } catch (e) {
    throw classifySharpError(e)
  }
}

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
  input: ImageInput,
  r: Extract<Rendition, { op: 'image' }>,
  l: ImageLimits,
): Promise<Rendered> => {
  try {
    // A raw input is already oriented; rotating again would read EXIF it no longer has.
    const pipeline = (isRaw(input) ? open(input, l) : open(input, l).rotate()).resize({
      width: r.maxSide,
      height: r.maxSide,
      fit: 'inside',
      withoutEnlargement: true,
    })
    // Speed over the last few percent of size: WebP at effort 2 (not 4) and libjpeg-turbo (not
    // mozjpeg's trellis search) make files ~5-10 % larger and the encodes 2-3x faster, which is
    // what keeps a 12 MP photo's variants within a few hundred milliseconds on one core.
    const encoded =
      r.format === 'webp'
        ? pipeline.webp({ quality: r.quality, effort: 2 })
        : pipeline.flatten({ background: '#ffffff' }).jpeg({ quality: r.quality, mozjpeg: false })
    const { data, info } = await encoded.toBuffer({ resolveWithObject: true })
    return { data, width: info.width, height: info.height }
  } catch (e) {
    throw classifySharpError(e)
  }
}

/** A ~16 px blurred JPEG as a data URL: a few hundred bytes a client shows while loading. */
export const placeholder = async (input: ImageInput, l: ImageLimits): Promise<string> => {
  try {
    const data = await (isRaw(input) ? open(input, l) : open(input, l).rotate())
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
