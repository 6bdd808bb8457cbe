import sharp from 'sharp'
import { PermanentFailure } from './failure.js'
import { decodeHeif } from './heif.js'
import type { Probe, Rendition } from './plan.js'
import { tiffWithProfile } from './tiff.js'

/**
 * sharp adapter. Every decode carries `limitInputPixels` (decompression bombs), reads only the
 * first frame of animations, and fails on a decode error instead of returning half an image.
 * Output never carries metadata: every rendition is encoded from raw pixels (no EXIF, XMP or
 * ICC to carry), oriented and converted to sRGB first, so nothing is lost by stripping.
 */
export interface ImageLimits {
  maxPixels: number
  /** Wall-clock bound of one pipeline (libvips stops it); default 60 s. */
  timeoutSeconds?: number
}

/** Decoded, oriented, sRGB pixels: what every rendition of one image is made from. */
export interface RawImage {
  data: Buffer
  width: number
  height: number
  channels: 1 | 2 | 3 | 4
}

export type ImageInput = string | Buffer | RawImage

/** What the header says, beyond the plan's Probe: how to decode it cheaply and correctly. */
export interface ImageProbe extends Probe {
  width: number
  height: number
  format: string
  /** EXIF orientation (1-8), 1 when absent. */
  orientation: number
  /** An embedded ICC profile: the pixels must be converted to sRGB. */
  hasProfile: boolean
  /** For HEIF: the coding of its image (`hevc` for HEIC, `av1` for AVIF). */
  compression?: string
}

/** HEIC: HEIF whose image is HEVC, which this sharp cannot decode (heif.ts does). */
export const isHeic = (p: Pick<ImageProbe, 'format' | 'compression'>): boolean =>
  p.format === 'heif' && p.compression === 'hevc'

/**
 * Process-wide libvips settings, set once by main.ts (and the bench). sharp picks one thread per
 * pipeline on glibc (memory fragmentation); the worker runs the variants of an image as parallel
 * pipelines instead, which keeps both cores busy without it. The operation cache only helps a
 * process that opens the same file twice, which the worker never does.
 */
export const configureSharp = (o: { threadsPerPipeline: number }): void => {
  sharp.concurrency(o.threadsPerPipeline)
  sharp.cache(false)
}

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
 * The JPEG shrink-on-load factor (DCT scaling: libjpeg decodes straight to 1/2, 1/4 or 1/8 size)
 * that still leaves at least `maxSide` pixels on the longer side. sharp applies it itself only
 * when the whole reduction is at least twice the factor (4000 → 1600 gets none), so the worker
 * asks libvips for it through the file name (`photo.jpg[shrink=2]`), which libvips' loader reads.
 */
export const jpegShrink = (p: Pick<ImageProbe, 'width' | 'height' | 'format'>, maxSide: number): number => {
  if (p.format !== 'jpeg') return 1
  const longer = Math.max(p.width, p.height)
  const target = Math.min(maxSide, longer)
  for (const s of [8, 4, 2]) if (Math.ceil(longer / s) >= target) return s
  return 1
}

/**
 * sharp operations that apply an EXIF orientation (1-8) to pixels that no longer carry it. sharp
 * mirrors before it rotates, whatever the order of the calls: 5 (transpose) is a vertical mirror
 * then a quarter turn clockwise, 7 (transverse) a horizontal one.
 */
const orient = (img: sharp.Sharp, orientation: number): sharp.Sharp => {
  switch (orientation) {
    case 2:
      return img.flop()
    case 3:
      return img.rotate(180)
    case 4:
      return img.flip()
    case 5:
      return img.rotate(90).flip()
    case 6:
      return img.rotate(90)
    case 7:
      return img.rotate(90).flop()
    case 8:
      return img.rotate(270)
    default:
      return img
  }
}

/** Wall-clock milliseconds of each stage of the last `decodeOnce`, for the bench's profile. */
export interface DecodeTimings {
  decodeResizeMs: number
  colourOrientMs: number
}

/**
 * Decodes the original once into the base every rendition is made from: at most `maxSide` on
 * the longer side (never enlarged), oriented, sRGB. Ordered so the costly steps run on the fewest
 * pixels: decode with JPEG shrink-on-load and resize first, keeping the ICC profile unapplied
 * (a square box does not care about orientation); then apply the profile and the orientation to
 * the small image. A 12 MP photo's colour transform and rotation then touch 2 MP, not 12.
 */
export const decodeOnce = async (
  input: string | Buffer,
  probe: ImageProbe,
  maxSide: number,
  l: ImageLimits,
  timings?: DecodeTimings,
): Promise<RawImage> => {
  try {
    const t0 = performance.now()
    let source: ImageInput
    let hasProfile = probe.hasProfile
    if (isHeic(probe)) {
      // Decoded whole (HEVC has no shrink-on-load), oriented by libheif (irot/imir), then the
      // same steps as any image: its profile rides along in a TIFF.
      const heif = await decodeHeif(input, l)
      hasProfile = heif.icc !== undefined
      source = heif.icc ? tiffWithProfile(heif, heif.icc) : heif
    } else {
      const shrink = typeof input === 'string' && !input.includes('[') ? jpegShrink(probe, maxSide) : 1
      source = shrink > 1 ? `${input}[shrink=${shrink}]` : input
    }
    const small = open(source, l).resize({
      width: maxSide,
      height: maxSide,
      fit: 'inside',
      withoutEnlargement: true,
    })
    // Uncompressed TIFF carries the profile to the next step at the cost of a copy; raw when
    // there is none to carry.
    const staged = hasProfile
      ? await small.keepIccProfile().tiff({ compression: 'none' }).toBuffer()
      : await small.raw().toBuffer({ resolveWithObject: true })
    const t1 = performance.now()
    const next = Buffer.isBuffer(staged)
      ? open(staged, l)
      : open(
          {
            data: staged.data,
            width: staged.info.width,
            height: staged.info.height,
            channels: staged.info.channels as RawImage['channels'],
          },
          l,
        )
    const { data, info } = await orient(next, probe.orientation).raw().toBuffer({ resolveWithObject: true })
    if (timings) {
      timings.decodeResizeMs = t1 - t0
      timings.colourOrientMs = performance.now() - t1
    }
    return { data, width: info.width, height: info.height, channels: info.channels }
  } catch (e) {
    throw classifySharpError(e)
  }
}

/** Maps sharp/libvips messages to stable codes; anything unrecognised about the bytes is corrupt. */
export const classifySharpError = (e: unknown): PermanentFailure => {
  if (e instanceof PermanentFailure) return e
  const msg = String((e as Error)?.message ?? e)
  if (/pixel limit/i.test(msg))
    return new PermanentFailure('MEDIA_TOO_MANY_PIXELS', msg.slice(0, 500), { cause: e })
  if (/^timeout/i.test(msg)) return new PermanentFailure('MEDIA_TIMEOUT', msg.slice(0, 500), { cause: e })
  if (/unsupported image format|no decoding plugin|compression format has not been built in|heif:/i.test(msg))
    return new PermanentFailure('MEDIA_UNSUPPORTED', msg.slice(0, 500), { cause: e })
  return new PermanentFailure('MEDIA_CORRUPT', msg.slice(0, 500), { cause: e })
}

export const probeImage = async (path: string | Buffer, l: ImageLimits): Promise<ImageProbe> => {
  try {
    const m = await sharp(path, { limitInputPixels: false, animated: false }).metadata()
    if (!m.width || !m.height) throw new Error('no dimensions')
    // EXIF orientations 5-8 turn the picture a quarter: the displayed size is swapped.
    // HEIF orients with its own transforms (irot/imir), which libheif applies and the size
    // already reflects; an EXIF orientation inside it must not be applied a second time.
    const orientation =
      m.format !== 'heif' && m.orientation && m.orientation >= 1 && m.orientation <= 8 ? m.orientation : 1
    const swap = orientation >= 5
    // The header alone can declare a bomb; refuse before any pixel is decoded.
    if (m.width * m.height > l.maxPixels)
      throw new PermanentFailure(
        'MEDIA_TOO_MANY_PIXELS',
        `${m.width}x${m.height} exceeds ${l.maxPixels} pixels`,
      )
    return {
      width: swap ? m.height : m.width,
      height: swap ? m.width : m.height,
      hasVideo: false,
      hasAudio: false,
      format: m.format ?? 'unknown',
      orientation,
      hasProfile: m.icc !== undefined && m.icc.length > 0,
      ...(m.compression ? { compression: m.compression } : {}),
    }
  } catch (e) {
    throw classifySharpError(e)
  }
}

export interface Rendered {
  data: Buffer
  width: number
  height: number
}

/**
 * Encoder settings: speed over the last few percent of size. The 1600 px WebP is the longest step
 * of a photo; at effort 0 (libwebp method 0) it takes half the time of effort 1 and ~60 % of
 * effort 2, for the same PSNR and 0-9 % more bytes (measured on detailed and smooth 1600×1200
 * images, ADR 0181). JPEG: libjpeg-turbo without mozjpeg's trellis search (~10× faster).
 */
export const WEBP_EFFORT = 0

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
    const encoded =
      r.format === 'webp'
        ? pipeline.webp({ quality: r.quality, effort: WEBP_EFFORT })
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

export interface Stills {
  renditions: { rendition: Extract<Rendition, { op: 'image' }>; out: Rendered }[]
  placeholder: string
}

/**
 * Every still of one image from one decode: the base is made once, then the renditions and the
 * placeholder are encoded in parallel (libuv's pool runs them on separate threads), so the
 * largest encode, not the sum of them, follows the decode.
 */
export const renderStills = async (
  input: string | Buffer,
  probe: ImageProbe,
  stills: Extract<Rendition, { op: 'image' }>[],
  l: ImageLimits,
  timings?: DecodeTimings,
): Promise<Stills> => {
  const base = await decodeOnce(input, probe, Math.max(...stills.map((r) => r.maxSide)), l, timings)
  const [preview, outs] = await Promise.all([
    placeholder(base, l),
    Promise.all(stills.map((r) => renderImage(base, r, l))),
  ])
  return { renditions: stills.map((rendition, i) => ({ rendition, out: outs[i]! })), placeholder: preview }
}
