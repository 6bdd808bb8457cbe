import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

/**
 * The media worker's own rate measurement (media-worker/bench/media-rate.ts), run as a child
 * process so the benchmarks package imports nothing of the worker: a 12 MP JPEG to every variant
 * (p50/p95, with the floor of decoding the original alone), and 1080p30 → 720p video as a
 * multiple of real time per core next to ffmpeg's own ultrafast/superfast presets on the same
 * clip. Both are measured in the same run, on the machine the rest of the benchmark uses.
 */
const run = promisify(execFile)

export interface PhotoRate {
  p50Ms: number
  p95Ms: number
  floorFullDecodeMs: number
  shrink: number
  floorShrunkDecodeMs: number
  previousPipelineMs: number
}
export interface VideoRow {
  perCore: number
  wall: number
  psnr?: number
  bytes?: number
}
export interface MediaRate {
  loadavgStart: number[]
  loadavgEnd: number[]
  photo: Record<string, PhotoRate>
  /** Per clip; also `settings` (the worker's x264 options) and `psnrFilter`. */
  video: Record<string, { rendition: string; rows: Record<string, VideoRow> } | string | boolean>
}

type Clip = { rendition: string; rows: Record<string, VideoRow> }
const isClip = (v: unknown): v is Clip => typeof v === 'object' && v !== null && 'rows' in v

/** The clips of a measurement, without its scalar fields. */
export const clipsOf = (r: MediaRate): [string, Clip][] =>
  Object.entries(r.video).filter((e): e is [string, Clip] => isClip(e[1]))

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SCRIPT = `${ROOT}media-worker/bench/media-rate.ts`
// The tests' TypeScript loader (ADR 0228): the script is not built into dist/.
const LOADER = `${ROOT}infra/scripts/ts-loader.mjs`

/** Undefined (with the reason logged) when the script or its loader is not there, or it fails. */
export const measureMediaRate = async (
  log: (m: string) => void,
  env: { ffmpeg?: string; photoRuns?: number; videoRuns?: number; clipSeconds?: number },
): Promise<MediaRate | undefined> => {
  if (!existsSync(SCRIPT) || !existsSync(LOADER)) {
    log('media rate: skipped (media-worker/bench or the TypeScript loader is missing)')
    return undefined
  }
  log('media rate: photo to variants and 1080p video to 720p, with their floors …')
  const { stdout } = await run(process.execPath, [`--import=file://${LOADER}`, SCRIPT, '--json'], {
    cwd: `${ROOT}media-worker`,
    env: {
      ...process.env,
      ...(env.ffmpeg ? { FFMPEG_PATH: env.ffmpeg } : {}),
      PHOTO_RUNS: String(env.photoRuns ?? 15),
      VIDEO_RUNS: String(env.videoRuns ?? 1),
      CLIP_SECONDS: String(env.clipSeconds ?? 10),
    },
    maxBuffer: 16 << 20,
    timeout: 20 * 60_000,
  })
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as MediaRate
}

const f1 = (x: number) => x.toFixed(1)
const f2 = (x: number) => x.toFixed(2)

/** The figures, flat, for the phase's `extra` table. */
export const mediaRateFigures = (r: MediaRate): Record<string, string | number> => {
  const out: Record<string, string | number> = {}
  for (const [name, p] of Object.entries(r.photo)) {
    out[`photo 12 MP (${name}) → variants p50 / p95 ms`] =
      `${f1(p.p50Ms)} / ${f1(p.p95Ms)} (target p50 ≤ 300)`
    out[`photo 12 MP (${name}) floor: decode alone, full / 1/${p.shrink} ms`] =
      `${f1(p.floorFullDecodeMs)} / ${f1(p.floorShrunkDecodeMs)}`
  }
  for (const [name, v] of clipsOf(r))
    for (const [row, x] of Object.entries(v.rows))
      out[`video 1080p30 (${name}) → ${v.rendition}, ${row}`] =
        `${f2(x.perCore)}× per core, ${f2(x.wall)}× wall${x.psnr !== undefined ? `, PSNR ${f2(x.psnr)} dB` : ''}`
  out['media rate: load average start → end'] = `${r.loadavgStart[0]} → ${r.loadavgEnd[0]}`
  return out
}
