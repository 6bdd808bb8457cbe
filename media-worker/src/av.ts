import type { ChildProcess } from 'node:child_process'
import { Writable } from 'node:stream'
import ffmpeg from 'fluent-ffmpeg'
import { PermanentFailure } from './failure.js'
import { type Launchers, writeLaunchers } from './launcher.js'
import type { Probe, Rendition } from './plan.js'
import { findPrlimit, findTool, siblingFfprobe } from './tools.js'

/**
 * The ffmpeg/ffprobe adapter: the only file that knows fluent-ffmpeg (2.1.3, pinned; its upstream
 * is archived, ADR 0180), so replacing it is replacing this file. What keeps hostile input
 * harmless does not depend on the library:
 * - every run goes through a launcher (launcher.ts) that bounds its wall-clock time (SIGKILL of
 *   the whole process group) and address space, and passes no environment;
 * - every input is `file:<the local copy>` with its demuxer named from the sniffed type (`-f`)
 *   and `-protocol_whitelist file,pipe`: a playlist or concat script posing as a video is parsed
 *   as the container it claims to be, fails, and never makes ffmpeg open a URL or another file.
 */
export interface AvTools {
  launchers: Launchers
  /** Threads per ffmpeg process: bounds CPU and, with the address-space cap, memory. */
  threads: number
}

export interface AvConfig {
  /** ffmpeg's path or name (FFMPEG_PATH); ffprobe is its sibling. */
  ffmpeg: string
  timeoutMs: number
  /** Address-space cap per run in bytes (0: none; needs `prlimit`). */
  memoryBytes: number
  threads: number
  /** Where the launchers are written (default: the OS temp dir). */
  tmpRoot?: string
}

const need = (name: string): string => {
  const p = findTool(name)
  if (!p) throw new Error(`media-worker needs \`${name}\` on PATH`)
  return p
}

export const createAvTools = async (c: AvConfig): Promise<AvTools & { close(): Promise<void> }> => {
  const launchers = await writeLaunchers(
    {
      ffmpeg: need(c.ffmpeg),
      ffprobe: need(siblingFfprobe(c.ffmpeg)),
      timeoutMs: c.timeoutMs,
      memoryBytes: c.memoryBytes,
      prlimit: findPrlimit(),
      timeout: need('timeout'),
      env: need('env'),
      path: process.env.PATH ?? '/usr/bin:/bin',
    },
    c.tmpRoot,
  )
  return {
    launchers,
    threads: c.threads,
    close: async () => {
      if (bound === launchers && inFlight === 0) bound = undefined
      await launchers.close()
    },
  }
}

// fluent-ffmpeg keeps the binary paths in one module-wide cache, not per command: a process can
// point it at one pair of launchers at a time. Switching is allowed only between runs.
let bound: Launchers | undefined
let inFlight = 0
const bind = (t: AvTools) => {
  if (bound === t.launchers) return
  if (inFlight > 0)
    throw new Error('fluent-ffmpeg holds one ffmpeg path per process: another AvTools has runs in flight')
  ffmpeg.setFfmpegPath(t.launchers.ffmpeg)
  ffmpeg.setFfprobePath(t.launchers.ffprobe)
  bound = t.launchers
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

/** After the launcher's own deadline, the adapter gives up waiting too (and kills the group). */
const WATCHDOG_GRACE_MS = 2000

const tail = (stderr: string) => stderr.trim().slice(-500)

/**
 * How a run ended, as a value the job understands: SIGKILL is the launcher's deadline (or ours),
 * any other failure is the file's fault (corrupt, or not what it claims); a tool that could not
 * be started at all is infrastructure and stays a plain (retryable) error.
 */
const failure = (tool: string, t: AvTools, e: unknown, stderr: string): unknown => {
  const msg = String((e as Error)?.message ?? e)
  if (/killed with signal SIGKILL/.test(msg))
    return new PermanentFailure('MEDIA_TIMEOUT', `${tool} exceeded ${t.launchers.config.timeoutMs} ms`)
  if (/exited with code|killed with signal/.test(msg))
    return new PermanentFailure('MEDIA_CORRUPT', `${tool}: ${tail(stderr || msg)}`.slice(0, 500), {
      cause: e,
    })
  return e
}

const timedOut = (tool: string, t: AvTools) =>
  new PermanentFailure('MEDIA_TIMEOUT', `${tool} exceeded ${t.launchers.config.timeoutMs} ms`)

/** Runs one fluent-ffmpeg command to its end, under the launcher's bounds and a watchdog. */
const run = (t: AvTools, cmd: ffmpeg.FfmpegCommand, sink?: Writable): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    bind(t)
    inFlight++
    let settled = false
    let ended = !sink
    let sinkDone = !sink
    const settle = (e?: unknown) => {
      if (settled) return
      if (!e && !(ended && sinkDone)) return
      settled = true
      inFlight--
      clearTimeout(watchdog)
      e ? reject(e) : resolve()
    }
    const watchdog = setTimeout(() => {
      const pid = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc?.pid
      // The launcher leads its own process group (coreutils `timeout`): end all of it.
      if (pid) {
        try {
          process.kill(-pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
      settle(timedOut('ffmpeg', t))
    }, t.launchers.config.timeoutMs + WATCHDOG_GRACE_MS)
    cmd.on('error', (e, _stdout, stderr) => settle(failure('ffmpeg', t, e, stderr ?? '')))
    cmd.on('end', () => {
      ended = true
      settle()
    })
    if (sink) {
      // fluent-ffmpeg reports the end when the process exits; the last bytes of its stdout may
      // still be on their way to the sink, so both must be done.
      sink.on('finish', () => {
        sinkDone = true
        settle()
      })
      sink.on('error', (e) => settle(e))
      cmd.output(sink, { end: true })
    }
    cmd.run()
  })

/** The input of every run: the local file, its demuxer forced, no protocol but file and pipe. */
const input = (mime: string, path: string, extra: string[] = []) =>
  ffmpeg({ stdoutLines: 20 })
    .input(`file:${path}`)
    .inputFormat(demuxerFor(mime))
    .inputOptions(['-nostdin', '-hide_banner', '-v', 'error', '-protocol_whitelist', 'file,pipe', ...extra])

/**
 * Nothing of the source's metadata goes into a rendition: ffmpeg copies global and per-stream
 * tags by default (title, artist, comment, creation time, and in MOV output the `©xyz` location a
 * phone records), and chapters. Members are served renditions only (docs/media.md), so this is
 * what keeps where and when a video or voice note was recorded with its uploader.
 */
const NO_METADATA = ['-map_metadata', '-1', '-map_chapters', '-1']

/** Only the fields the plan needs: a file with thousands of streams yields a short description. */
const PROBE_ENTRIES =
  'stream=codec_type,width,height,duration:stream_tags=rotate:stream_side_data=rotation:format=duration,format_name'

export const probeAv = (t: AvTools, mime: string, path: string): Promise<Probe> =>
  new Promise<Probe>((resolve, reject) => {
    const args = [
      '-v',
      'error',
      '-protocol_whitelist',
      'file,pipe',
      '-f',
      demuxerFor(mime),
      '-show_entries',
      PROBE_ENTRIES,
    ]
    bind(t)
    inFlight++
    let settled = false
    const settle = (e: unknown, p?: Probe) => {
      if (settled) return
      settled = true
      inFlight--
      clearTimeout(watchdog)
      e ? reject(e) : resolve(p!)
    }
    // fluent-ffmpeg's ffprobe exposes no process: the launcher's deadline is what kills it.
    const watchdog = setTimeout(
      () => settle(timedOut('ffprobe', t)),
      t.launchers.config.timeoutMs + WATCHDOG_GRACE_MS,
    )
    ffmpeg.ffprobe(`file:${path}`, args, (e: unknown, data) => {
      if (e) return settle(failure('ffprobe', t, e, String((e as Error)?.message ?? '')))
      try {
        settle(undefined, describe(data))
      } catch (x) {
        settle(x)
      }
    })
  })

const describe = (info: ffmpeg.FfprobeData): Probe => {
  const streams = info.streams ?? []
  const video = streams.find((s) => s.codec_type === 'video' && s.width && s.height)
  const audio = streams.find((s) => s.codec_type === 'audio')
  const seconds = Number(info.format?.duration ?? video?.duration ?? audio?.duration)
  // ffprobe 5+ reports a display matrix as side data `rotation`; older muxers wrote a `rotate` tag.
  const rotation = Math.abs(Number(video?.rotation ?? video?.tags?.rotate ?? 0)) % 360
  const swap = rotation === 90 || rotation === 270
  return {
    hasVideo: video !== undefined,
    hasAudio: audio !== undefined,
    ...(video
      ? { width: swap ? video.height! : video.width!, height: swap ? video.width! : video.height! }
      : {}),
    ...(Number.isFinite(seconds) && seconds >= 0 ? { durationMs: Math.round(seconds * 1000) } : {}),
    ...(info.format?.format_name ? { format: String(info.format.format_name) } : {}),
  }
}

/**
 * Video encoding settings, chosen for ≥ 2× real time per core on a 1080p source (ADR 0181;
 * docs/benchmarks.md has the measurements): x264 `ultrafast` with CABAC and the in-loop deblocking
 * filter put back, at CRF 26 under the bitrate cap, after a bilinear downscale. Against
 * `superfast` it is ~20 % cheaper at the same PSNR and ~1-6 % larger: `superfast`'s B-frames,
 * sub-pixel search and adaptive quantisation buy little at 2 Mbit/s; CABAC (~10 % of the bits)
 * and deblocking (the blockiness) buy a lot for what they cost.
 */
export const VIDEO_ENCODE = [
  '-preset',
  'ultrafast',
  '-x264-params',
  'cabac=1:deblock=0,0',
  '-crf',
  '26',
  '-profile:v',
  'main',
]

export const transcodeVideo = (
  t: AvTools,
  mime: string,
  path: string,
  r: Extract<Rendition, { op: 'video' }>,
  out: string,
  maxDurationMs: number,
): Promise<void> =>
  run(
    t,
    input(mime, path)
      .output(`file:${out}`)
      .outputOptions([
        '-y',
        ...NO_METADATA,
        '-map',
        '0:v:0',
        ...(r.audio ? ['-map', '0:a:0'] : []),
        '-t',
        String(maxDurationMs / 1000),
        '-vf',
        `scale=${r.width}:${r.height}:flags=fast_bilinear,format=yuv420p`,
        '-c:v',
        'libx264',
        ...VIDEO_ENCODE,
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
      ]),
  )

/** One frame as PNG (sharp turns it into the JPEG poster and the placeholder). */
export const extractFrame = (
  t: AvTools,
  mime: string,
  path: string,
  atMs: number,
  size: { width: number; height: number },
  out: string,
): Promise<void> =>
  run(
    t,
    input(mime, path, ['-ss', String(atMs / 1000)])
      .output(`file:${out}`)
      .outputOptions([
        '-y',
        ...NO_METADATA,
        '-map',
        '0:v:0',
        '-frames:v',
        '1',
        '-vf',
        `scale=${size.width}:${size.height}`,
        '-threads',
        String(t.threads),
        '-c:v',
        'png',
        '-f',
        'image2',
      ]),
  )

export const transcodeAudio = (
  t: AvTools,
  mime: string,
  path: string,
  r: Extract<Rendition, { op: 'audio' }>,
  out: string,
  maxDurationMs: number,
): Promise<void> =>
  run(
    t,
    input(mime, path)
      .output(`file:${out}`)
      .outputOptions([
        '-y',
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
      ]),
  )

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
  const sink = new Writable({
    // fluent-ffmpeg takes a 'close' of its output stream for an early end and reports an error
    // 20 ms later unless the process has exited by then: this sink never emits one.
    emitClose: false,
    write(c: Buffer, _enc, done) {
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
      done()
    },
  })
  await run(
    t,
    input(mime, path).outputOptions([
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
    ]),
    sink,
  )
  if (inWindow > 0) levels.push(peak)
  return levels
}
