/**
 * A bounded measurement of the two media targets (not part of the test suite, ~1 minute), using
 * the worker's own functions and limits:
 *   - a 12 MP JPEG to all its variants (plan → every image rendition → placeholder), p50 of RUNS;
 *   - a 1080p H.264/AAC phone-style clip to the 720p rendition, as a multiple of real time per
 *     core (clip seconds ÷ ffmpeg CPU seconds, from the children's CPU time in /proc/self/stat).
 * Fixtures are made here with sharp and ffmpeg. Run:
 *   cd media-worker && node --import=file://$PWD/../node_modules/@tapjs/typescript/dist/esm/import.mjs bench/media-rate.ts
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { probeAv, transcodeVideo } from '../src/av.js'
import { decodeOnce, placeholder, probeImage, renderImage } from '../src/image.js'
import { DEFAULT_PLAN_CONFIG, plan } from '../src/plan.js'
import { findPrlimit } from '../src/tools.js'

const RUNS = Number(process.env.RUNS ?? 7)
const CLIP_S = Number(process.env.CLIP_SECONDS ?? 10)
const dir = mkdtempSync(join(tmpdir(), 'media-rate-'))
const ffmpeg = process.env.FFMPEG_PATH ?? 'ffmpeg'
const limits = { maxPixels: DEFAULT_PLAN_CONFIG.maxPixels }

/** CPU seconds of waited-for children (cutime + cstime, fields 16 and 17 of /proc/self/stat). */
const childCpuSeconds = (): number => {
  const stat = readFileSync('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[13]) + Number(fields[14])) / 100
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

try {
  // 12 MP photo-like content: blurred noise has a phone photo's mix of smooth areas and detail
  // (a few MB at quality 90); raw noise would make a ~18 MB file no camera produces.
  const jpeg = join(dir, 'photo.jpg')
  const noise: sharp.SharpOptions = {
    create: {
      width: 4000,
      height: 3000,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  }
  await sharp(noise).blur(1.5).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toFile(jpeg)
  console.log(`fixture: 4000x3000 JPEG, ${(statSync(jpeg).size / 1e6).toFixed(1)} MB`)
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now()
    const p = plan({ kind: 'image' }, await probeImage(jpeg, limits))
    if (!p.ok) throw new Error(p.reason)
    // The worker's path (process-job.ts): one decode, then every rendition and the placeholder.
    const stills = p.plan.renditions.filter((r) => r.op === 'image')
    const base = await decodeOnce(jpeg, Math.max(...stills.map((r) => r.maxSide)), limits)
    for (const r of stills) await renderImage(base, r, limits)
    await placeholder(base, limits)
    times.push(performance.now() - started)
  }
  console.log(
    `12 MP JPEG → ${RUNS} runs: p50 ${median(times).toFixed(0)} ms, min ${Math.min(...times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms (target p50 ≤ 300 ms)`,
  )

  const clip = join(dir, 'clip.mp4')
  execFileSync(ffmpeg, [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=1920x1080:rate=30:duration=${CLIP_S}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:duration=${CLIP_S}`,
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-b:v',
    '12M',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    clip,
  ])
  const av = {
    ffmpeg,
    ffprobe: ffmpeg.replace(/ffmpeg$/, 'ffprobe'),
    threads: 2,
    limits: { timeoutMs: 300_000, memoryBytes: 2 * 1024 ** 3, prlimit: findPrlimit() },
  }
  const p = plan({ kind: 'video' }, await probeAv(av, 'video/mp4', clip))
  if (!p.ok) throw new Error(p.reason)
  const video = p.plan.renditions.find((r) => r.op === 'video')
  if (!video || video.op !== 'video') throw new Error('no video rendition planned')
  const cpu0 = childCpuSeconds()
  const started = performance.now()
  await transcodeVideo(av, 'video/mp4', clip, video, join(dir, 'out.mp4'), 3_600_000)
  const wall = (performance.now() - started) / 1000
  const cpu = childCpuSeconds() - cpu0
  console.log(
    `1080p ${CLIP_S} s clip → ${video.width}x${video.height} H.264: ${wall.toFixed(2)} s wall (${(CLIP_S / wall).toFixed(2)}× real time), ${cpu.toFixed(2)} CPU s = ${(CLIP_S / cpu).toFixed(2)}× real time per core (target ≥ 2×)`,
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
