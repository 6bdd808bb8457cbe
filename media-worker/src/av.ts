import { PermanentFailure } from './failure.js'
import type { Probe, Rendition } from './plan.js'
import { type RunLimits, runBounded } from './run-process.js'

/**
 * ffmpeg/ffprobe adapter. Every invocation names its demuxer from the sniffed type (`-f`), reads
 * `file:<the local input>` only, and whitelists the `file` and `pipe` protocols: a playlist or
 * concat script pretending to be a video is parsed as the container it claims to be, fails, and
 * never makes ffmpeg open a URL or another file.
 */
export interface AvTools {
  ffmpeg: string
  ffprobe: string
  limits: RunLimits
  /** Threads per ffmpeg process: bounds CPU and, with prlimit, memory. */
  threads: number
}

const DEMUXERS: Record<string, string> = {
  'video/mp4': 'mov',
  'video/quicktime': 'mov',
  'video/3gpp': 'mov',
  'audio/mp4': 'mov',
  'video/webm': 'matroska',
  'video/x-matroska': 'matroska',
  'audio/webm': 'matroska',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/wav': 'wav',
  'audio/aac': 'aac',
}

export const demuxerFor = (mime: string): string => {
  const d = DEMUXERS[mime]
  if (!d) throw new PermanentFailure('MEDIA_UNSUPPORTED', `no demuxer for ${mime}`)
  return d
}

const input = (mime: string, path: string) => [
  '-protocol_whitelist',
  'file,pipe',
  '-f',
  demuxerFor(mime),
  '-i',
  `file:${path}`,
]

/** A decoder's refusal is the file's fault: corrupt or not what it claims. */
const asCorrupt = (e: unknown): never => {
  if (e instanceof PermanentFailure) throw e
  const exit = (e as { exitCode?: number | null }).exitCode
  if (typeof exit === 'number')
    throw new PermanentFailure('MEDIA_CORRUPT', (e as Error).message.slice(0, 500))
  throw e
}

interface FfprobeStream {
  codec_type?: string
  width?: number
  height?: number
  duration?: string
  tags?: { rotate?: string }
  side_data_list?: { rotation?: number }[]
}

export const probeAv = async (t: AvTools, mime: string, path: string): Promise<Probe> => {
  const r = await runBounded(
    t.ffprobe,
    ['-v', 'error', ...input(mime, path), '-print_format', 'json', '-show_format', '-show_streams'],
    t.limits,
  ).catch(asCorrupt)
  let info: { streams?: FfprobeStream[]; format?: { duration?: string; format_name?: string } }
  try {
    info = JSON.parse(r.stdout.toString('utf8'))
  } catch (e) {
    throw new PermanentFailure('MEDIA_CORRUPT', 'ffprobe gave no readable description', { cause: e })
  }
  const streams = info.streams ?? []
  const video = streams.find((s) => s.codec_type === 'video' && s.width && s.height)
  const audio = streams.find((s) => s.codec_type === 'audio')
  const seconds = Number(info.format?.duration ?? video?.duration ?? audio?.duration)
  const rotation = Math.abs(
    Number(
      video?.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? video?.tags?.rotate ?? 0,
    ),
  )
  const swap = rotation === 90 || rotation === 270
  return {
    hasVideo: video !== undefined,
    hasAudio: audio !== undefined,
    ...(video
      ? { width: swap ? video.height! : video.width!, height: swap ? video.width! : video.height! }
      : {}),
    ...(Number.isFinite(seconds) && seconds >= 0 ? { durationMs: Math.round(seconds * 1000) } : {}),
    ...(info.format?.format_name ? { format: info.format.format_name } : {}),
  }
}

const COMMON = ['-nostdin', '-hide_banner', '-v', 'error', '-y']

/**
 * Nothing of the source's metadata goes into a rendition: ffmpeg copies global and per-stream
 * tags by default (title, artist, comment, creation time, and in MOV output the `©xyz` location a
 * phone records), and chapters. Members are served renditions only (docs/media.md), so this is
 * what keeps where and when a video or voice note was recorded with its uploader.
 */
const NO_METADATA = ['-map_metadata', '-1', '-map_chapters', '-1']

export const transcodeVideo = async (
  t: AvTools,
  mime: string,
  path: string,
  r: Extract<Rendition, { op: 'video' }>,
  out: string,
  maxDurationMs: number,
): Promise<void> => {
  await runBounded(
    t.ffmpeg,
    [
      ...COMMON,
      ...input(mime, path),
      ...NO_METADATA,
      '-map',
      '0:v:0',
      ...(r.audio ? ['-map', '0:a:0'] : []),
      '-t',
      String(maxDurationMs / 1000),
      '-vf',
      // Speed is the budget (≥ 2x real time per core for a 1080p clip): bilinear downscaling and
      // x264 `superfast` cost a little sharpness and size, which a chat video can spare.
      `scale=${r.width}:${r.height}:flags=fast_bilinear,format=yuv420p`,
      '-c:v',
      'libx264',
      '-preset',
      'superfast',
      '-crf',
      '26',
      '-profile:v',
      'main',
      '-maxrate',
      `${r.maxBitrateKbps}k`,
      '-bufsize',
      `${r.maxBitrateKbps * 2}k`,
      ...(r.audio ? ['-c:a', 'aac', '-b:a', `${r.audioBitrateKbps}k`, '-ac', '2'] : ['-an']),
      '-movflags',
      '+faststart',
      '-threads',
      String(t.threads),
      '-f',
      'mp4',
      `file:${out}`,
    ],
    t.limits,
  ).catch(asCorrupt)
}

/** One frame as PNG (sharp turns it into the JPEG poster and the placeholder). */
export const extractFrame = async (
  t: AvTools,
  mime: string,
  path: string,
  atMs: number,
  size: { width: number; height: number },
  out: string,
): Promise<void> => {
  await runBounded(
    t.ffmpeg,
    [
      ...COMMON,
      '-ss',
      String(atMs / 1000),
      ...input(mime, path),
      ...NO_METADATA,
      '-map',
      '0:v:0',
      '-frames:v',
      '1',
      '-vf',
      `scale=${size.width}:${size.height}`,
      '-threads',
      String(t.threads),
      '-f',
      'image2',
      '-c:v',
      'png',
      `file:${out}`,
    ],
    t.limits,
  ).catch(asCorrupt)
}

export const transcodeAudio = async (
  t: AvTools,
  mime: string,
  path: string,
  r: Extract<Rendition, { op: 'audio' }>,
  out: string,
  maxDurationMs: number,
): Promise<void> => {
  await runBounded(
    t.ffmpeg,
    [
      ...COMMON,
      ...input(mime, path),
      ...NO_METADATA,
      '-map',
      '0:a:0',
      '-vn',
      '-t',
      String(maxDurationMs / 1000),
      '-c:a',
      'aac',
      '-b:a',
      `${r.bitrateKbps}k`,
      '-movflags',
      '+faststart',
      '-threads',
      String(t.threads),
      '-f',
      'mp4',
      `file:${out}`,
    ],
    t.limits,
  ).catch(asCorrupt)
}

/** Sample rate of the loudness analysis, and samples per window (100 ms). */
const LEVEL_RATE = 4000
const WINDOW = 400

/**
 * Peak level (0..1) of each 100 ms window of the first audio stream, decoded to mono 16-bit PCM
 * and folded as it streams, so a long recording never sits in memory.
 */
export const audioLevels = async (
  t: AvTools,
  mime: string,
  path: string,
  maxDurationMs: number,
): Promise<number[]> => {
  const levels: number[] = []
  let peak = 0
  let inWindow = 0
  let carry: Buffer | undefined
  const onChunk = (c: Buffer) => {
    const buf = carry ? Buffer.concat([carry, c]) : c
    const usable = buf.length - (buf.length % 2)
    for (let i = 0; i < usable; i += 2) {
      peak = Math.max(peak, Math.abs(buf.readInt16LE(i)) / 32768)
      if (++inWindow === WINDOW) {
        levels.push(peak)
        peak = 0
        inWindow = 0
      }
    }
    carry = usable < buf.length ? buf.subarray(usable) : undefined
  }
  await runBounded(
    t.ffmpeg,
    [
      ...COMMON,
      ...input(mime, path),
      '-map',
      '0:a:0',
      '-vn',
      '-t',
      String(maxDurationMs / 1000),
      '-ac',
      '1',
      '-ar',
      String(LEVEL_RATE),
      '-f',
      's16le',
      'pipe:1',
    ],
    t.limits,
    onChunk,
  ).catch(asCorrupt)
  if (inWindow > 0) levels.push(peak)
  return levels
}
