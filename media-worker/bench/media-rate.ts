/**
 * A bounded measurement of the two media targets (not part of the test suite, 2-4 minutes on a
 * quiet 2-core machine), using the worker's own functions, settings and bounds, with the floors
 * measured in the same run:
 *   - photo: a 12 MP JPEG to every variant (probe → plan → renderStills) as the worker does it,
 *     p50/p95 of PHOTO_RUNS; a profile per stage; the floor (sharp alone decoding the original
 *     once, at full size and at the shrink factor used); the previous pipeline for comparison;
 *   - video: 1080p30 H.264/AAC → the 720p rendition through fluent-ffmpeg and the launcher, as a
 *     multiple of real time per core (clip seconds ÷ CPU seconds of the ffmpeg process tree,
 *     from cutime + cstime in /proc/self/stat), next to plain ffmpeg with `-preset ultrafast` and
 *     `-preset superfast` (same CRF) and a decode-only run; PSNR of each against the source when
 *     the ffmpeg build has the psnr filter.
 * Fixtures are made here with sharp and ffmpeg. Run from media-worker/:
 *   node --import=../infra/scripts/ts-loader.mjs bench/media-rate.ts [--json]
 * Env: PHOTO_RUNS (21), VIDEO_RUNS (2), CLIP_SECONDS (10), PARTS (photo,video), FFMPEG_PATH.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import sharp from 'sharp'
import { createAvTools, probeAv, transcodeVideo, VIDEO_ENCODE } from '../src/av.js'
import {
  configureSharp,
  type DecodeTimings,
  decodeOnce,
  jpegShrink,
  placeholder,
  probeImage,
  renderImage,
  renderStills,
} from '../src/image.js'
import { DEFAULT_PLAN_CONFIG, plan, type Rendition } from '../src/plan.js'

const run = promisify(execFile)
const PHOTO_RUNS = Number(process.env.PHOTO_RUNS ?? 21)
const VIDEO_RUNS = Number(process.env.VIDEO_RUNS ?? 2)
const CLIP_S = Number(process.env.CLIP_SECONDS ?? 10)
const JSON_OUT = process.argv.includes('--json')
const PARTS = (process.env.PARTS ?? 'photo,video').split(',')
const ffmpeg = process.env.FFMPEG_PATH ?? 'ffmpeg'
const limits = { maxPixels: DEFAULT_PLAN_CONFIG.maxPixels }
const dir = mkdtempSync(join(tmpdir(), 'media-rate-'))
const say = (s: string) => (JSON_OUT ? process.stderr : process.stdout).write(`${s}\n`)

/** CPU seconds of waited-for children (cutime + cstime, fields 16 and 17 of /proc/self/stat). */
const childCpuSeconds = (): number => {
  const stat = readFileSync('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[13]) + Number(fields[14])) / 100
}
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!
const median = (xs: number[]) => pct(xs, 0.5)
const ms = (x: number) => `${x.toFixed(0)} ms`
const time = async (f: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now()
  await f()
  return performance.now() - t0
}
const repeat = async (n: number, f: () => Promise<unknown>) => {
  const xs: number[] = []
  for (let i = 0; i < n; i++) xs.push(await time(f))
  return xs
}

const result: Record<string, unknown> = {
  date: new Date().toISOString(),
  loadavgStart: loadavg().map((x) => Math.round(x * 100) / 100),
  cores: (await import('node:os')).availableParallelism(),
}

try {
  configureSharp({ threadsPerPipeline: 1 })
  // 12 MP photo-like content: blurred noise has a phone photo's mix of smooth areas and detail
  // (a few MB at quality 90). Orientation 6 (portrait, stored sideways) like a phone's. The first
  // is tagged sRGB (sharp's withMetadata adds the profile), the second Display P3 (an iPhone's).
  const noise: sharp.SharpOptions = {
    create: {
      width: 4000,
      height: 3000,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  }
  const photos = {
    srgb: join(dir, 'photo-srgb.jpg'),
    p3: join(dir, 'photo-p3.jpg'),
  }
  await sharp(noise).blur(1.5).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toFile(photos.srgb)
  await sharp(noise)
    .blur(1.5)
    .jpeg({ quality: 90 })
    .withMetadata({ orientation: 6 })
    .withIccProfile('p3')
    .toFile(photos.p3)
  say(`fixtures: 4000x3000 JPEG, ${(statSync(photos.srgb).size / 1e6).toFixed(1)} MB (sRGB and P3 profiles)`)

  const photo: Record<string, unknown> = {}
  for (const [name, file] of PARTS.includes('photo') ? Object.entries(photos) : []) {
    // The worker's path, start to end (probe, plan, one decode, every variant in parallel).
    const worker = async () => {
      const probe = await probeImage(file, limits)
      const p = plan({ kind: 'image' }, probe)
      if (!p.ok) throw new Error(p.reason)
      return renderStills(
        file,
        probe,
        p.plan.renditions.filter((r) => r.op === 'image'),
        limits,
      )
    }
    await worker() // warm-up: page cache, code paths
    const runs = await repeat(PHOTO_RUNS, worker)
    const probe = await probeImage(file, limits)
    const p = plan({ kind: 'image' }, probe)
    if (!p.ok) throw new Error(p.reason)
    const stills = p.plan.renditions.filter((r): r is Extract<Rendition, { op: 'image' }> => r.op === 'image')
    const maxSide = Math.max(...stills.map((r) => r.maxSide))
    const shrink = jpegShrink(probe, maxSide)
    // Stage profile, each stage alone and in sequence (so they add up to the one-core cost).
    const stageRuns = Math.max(5, Math.floor(PHOTO_RUNS / 2))
    const decodeResize: number[] = []
    const colourOrient: number[] = []
    for (let i = 0; i < stageRuns; i++) {
      const tm: DecodeTimings = { decodeResizeMs: 0, colourOrientMs: 0 }
      await decodeOnce(file, probe, maxSide, limits, tm)
      decodeResize.push(tm.decodeResizeMs)
      colourOrient.push(tm.colourOrientMs)
    }
    const base = await decodeOnce(file, probe, maxSide, limits)
    const encodes: Record<string, number> = {}
    for (const r of stills)
      encodes[`${r.name} (${r.format})`] = median(await repeat(stageRuns, () => renderImage(base, r, limits)))
    encodes.placeholder = median(await repeat(stageRuns, () => placeholder(base, limits)))
    const sequential = median(
      await repeat(stageRuns, async () => {
        const b = await decodeOnce(file, probe, maxSide, limits)
        for (const r of stills) await renderImage(b, r, limits)
        await placeholder(b, limits)
      }),
    )
    // The floor: sharp alone decoding the original once, no colour transform, nothing else.
    const floorFull = median(await repeat(stageRuns, () => sharp(file, { ignoreIcc: true }).raw().toBuffer()))
    const floorShrunk = median(
      await repeat(stageRuns, () => sharp(`${file}[shrink=${shrink}]`, { ignoreIcc: true }).raw().toBuffer()),
    )
    // The previous pipeline (before ADR 0181), for comparison in the same run: sharp's own
    // decode (colour transform and rotation at full size), variants one after the other, WebP
    // at effort 2.
    const previous = median(
      await repeat(Math.min(stageRuns, 7), async () => {
        const { data, info } = await sharp(file, { failOn: 'error' })
          .rotate()
          .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
          .raw()
          .toBuffer({ resolveWithObject: true })
        const raw = { raw: { width: info.width, height: info.height, channels: info.channels } }
        for (const r of stills) {
          const s = sharp(data, raw).resize({ width: r.maxSide, height: r.maxSide, fit: 'inside' })
          await (r.format === 'webp'
            ? s.webp({ quality: r.quality, effort: 2 })
            : s.jpeg({ quality: r.quality, mozjpeg: false })
          ).toBuffer()
        }
        await sharp(data, raw).resize(16, 16, { fit: 'inside' }).blur(1).jpeg({ quality: 40 }).toBuffer()
      }),
    )
    const sizes = Object.fromEntries(
      (await worker()).renditions.map((r) => [r.rendition.name, r.out.data.length]),
    )
    photo[name] = {
      runs: PHOTO_RUNS,
      p50Ms: median(runs),
      p95Ms: pct(runs, 0.95),
      minMs: Math.min(...runs),
      floorFullDecodeMs: floorFull,
      shrink,
      floorShrunkDecodeMs: floorShrunk,
      stages: {
        decodeAndResizeMs: median(decodeResize),
        colourAndOrientationMs: median(colourOrient),
        encodeMs: encodes,
        allStagesOneCoreMs: sequential,
      },
      previousPipelineMs: previous,
      bytes: sizes,
    }
    say(
      `photo ${name}: p50 ${ms(median(runs))}, p95 ${ms(pct(runs, 0.95))} (${PHOTO_RUNS} runs; target p50 ≤ 300 ms); ` +
        `floor: full-size decode ${ms(floorFull)}, decode at 1/${shrink} ${ms(floorShrunk)}; previous pipeline ${ms(previous)}`,
    )
    say(
      `  stages (one core, in sequence ${ms(sequential)}): decode+resize ${ms(median(decodeResize))}, colour+orientation ${ms(median(colourOrient))}, ` +
        Object.entries(encodes)
          .map(([k, v]) => `${k} ${ms(v)}`)
          .join(', '),
    )
    say(
      `  bytes: ${Object.entries(sizes)
        .map(([k, v]) => `${k} ${v} B`)
        .join(', ')}`,
    )
  }
  result.photo = photo

  // Video: the benchmark's clip since issue 15 (a clean test pattern, 12 Mbit/s), and a
  // camera-like one (temporal noise, High profile, 16 Mbit/s) that costs more to decode and encode.
  const clips = {
    pattern: {
      file: join(dir, 'pattern.mp4'),
      source: `testsrc2=size=1920x1080:rate=30:duration=${CLIP_S}`,
      x264: ['-preset', 'veryfast', '-b:v', '12M'],
    },
    camera: {
      file: join(dir, 'camera.mp4'),
      source: `testsrc2=size=1920x1080:rate=30:duration=${CLIP_S},noise=alls=12:allf=t`,
      x264: [
        '-preset',
        'veryfast',
        '-profile:v',
        'high',
        '-b:v',
        '16M',
        '-maxrate',
        '16M',
        '-bufsize',
        '32M',
      ],
    },
  }
  if (!PARTS.includes('video')) for (const k of Object.keys(clips)) delete clips[k as keyof typeof clips]
  for (const c of Object.values(clips)) {
    await run(ffmpeg, [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', c.source, '-f', 'lavfi', '-i'],
      `sine=frequency=440:duration=${CLIP_S}`,
      ...['-c:v', 'libx264', ...c.x264, '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', c.file],
    ])
  }
  const filters = (await run(ffmpeg, ['-hide_banner', '-filters'], { maxBuffer: 8 << 20 })).stdout
  const hasPsnr = /\spsnr\s/.test(filters)
  const psnr = async (out: string, source: string): Promise<number | undefined> => {
    if (!hasPsnr) return undefined
    const r = await run(ffmpeg, [
      ...['-nostdin', '-i', out, '-i', source, '-lavfi'],
      '[0:v]scale=1920:1080:flags=bicubic[d];[d][1:v]psnr',
      ...['-f', 'null', '-'],
    ])
    const m = /average:([\d.]+)/.exec(r.stderr)
    return m ? Number(m[1]) : undefined
  }
  const av = await createAvTools({ ffmpeg, timeoutMs: 600_000, memoryBytes: 2 * 1024 ** 3, threads: 2 })
  const video: Record<string, unknown> = { settings: VIDEO_ENCODE.join(' '), psnrFilter: hasPsnr }
  try {
    for (const [name, c] of Object.entries(clips)) {
      const p = plan({ kind: 'video' }, await probeAv(av, 'video/mp4', c.file))
      if (!p.ok) throw new Error(p.reason)
      const r = p.plan.renditions.find((x): x is Extract<Rendition, { op: 'video' }> => x.op === 'video')!
      const measure = async (f: () => Promise<unknown>) => {
        const cpu0 = childCpuSeconds()
        const wall = await time(f)
        return { cpuS: childCpuSeconds() - cpu0, wallS: wall / 1000 }
      }
      const plain = (out: string, args: string[]) => () =>
        run(ffmpeg, ['-nostdin', '-v', 'error', '-y', '-i', c.file, ...args, out])
      const floorArgs = (preset: string) => [
        ...['-vf', 'scale=-2:720', '-c:v', 'libx264', '-preset', preset, '-crf', '26'],
        ...['-c:a', 'aac', '-b:a', '96k', '-movflags', '+faststart'],
      ]
      const outs = {
        worker: join(dir, `${name}-worker.mp4`),
        ultrafast: join(dir, `${name}-ultrafast.mp4`),
        superfast: join(dir, `${name}-superfast.mp4`),
      }
      const rows: Record<string, { cpuS: number[]; wallS: number[] }> = {}
      const add = (k: string, m: { cpuS: number; wallS: number }) => {
        rows[k] ??= { cpuS: [], wallS: [] }
        rows[k].cpuS.push(m.cpuS)
        rows[k].wallS.push(m.wallS)
      }
      // Interleaved, so the machine's load falls on every row alike.
      for (let i = 0; i < VIDEO_RUNS; i++) {
        add('worker', await measure(() => transcodeVideo(av, 'video/mp4', c.file, r, outs.worker, 3_600_000)))
        add('ffmpeg -preset ultrafast', await measure(plain(outs.ultrafast, floorArgs('ultrafast'))))
        add('ffmpeg -preset superfast', await measure(plain(outs.superfast, floorArgs('superfast'))))
        add('decode only', await measure(plain('-', ['-map', '0:v:0', '-f', 'null'])))
      }
      const quality: Record<string, { psnr?: number; bytes: number }> = {}
      for (const [k, f] of Object.entries(outs)) {
        const q = await psnr(f, c.file)
        quality[k === 'worker' ? 'worker' : `ffmpeg -preset ${k}`] = {
          ...(q !== undefined ? { psnr: q } : {}),
          bytes: statSync(f).size,
        }
      }
      const summary = Object.fromEntries(
        Object.entries(rows).map(([k, v]) => [
          k,
          {
            cpuS: median(v.cpuS),
            wallS: median(v.wallS),
            perCore: CLIP_S / median(v.cpuS),
            wall: CLIP_S / median(v.wallS),
            ...quality[k],
          },
        ]),
      )
      video[name] = {
        rendition: `${r.width}x${r.height}`,
        clipSeconds: CLIP_S,
        runs: VIDEO_RUNS,
        rows: summary,
      }
      say(`video ${name} (1080p30 ${CLIP_S} s → ${r.width}x${r.height}; target ≥ 2× real time per core):`)
      for (const [k, v] of Object.entries(summary))
        say(
          `  ${k.padEnd(26)} ${v.perCore.toFixed(2)}× per core (${v.cpuS.toFixed(2)} CPU s), ${v.wall.toFixed(2)}× wall` +
            (v.bytes !== undefined ? `, ${(v.bytes / 1e6).toFixed(2)} MB` : '') +
            (v.psnr !== undefined ? `, PSNR ${v.psnr.toFixed(2)} dB` : ''),
        )
    }
  } finally {
    await av.close()
  }
  result.video = video
  result.loadavgEnd = loadavg().map((x) => Math.round(x * 100) / 100)
  say(
    `load average at start ${(result.loadavgStart as number[]).join(' ')}, at end ${(result.loadavgEnd as number[]).join(' ')}`,
  )
  if (JSON_OUT) process.stdout.write(`${JSON.stringify(result)}\n`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
