import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mergeHistograms, summarize } from '../core/latency.js'
import { directPlan, splitCount } from '../core/plan.js'
import type { PhaseResult } from '../core/result.js'
import { ZERO_COUNTS } from '../core/sequence-checker.js'
import { fmtBytes, fmtInt } from '../report/format.js'
import { setupChat } from './chat-phase.js'
import type { RunContext } from './context.js'
import { clipsOf, measureMediaRate, mediaRateFigures } from './media-rate.js'

/** A 12-megapixel-class photo and a 6 s 720p clip with sound, made by ffmpeg so nothing binary is committed. */
const makeFixtures = (dir: string, ffmpeg: string): { photo: string; video: string } => {
  const photo = join(dir, 'photo.jpg')
  const video = join(dir, 'video.mp4')
  const run = (args: string[]) => execFileSync(ffmpeg, ['-v', 'error', '-y', ...args], { stdio: 'ignore' })
  run(['-f', 'lavfi', '-i', 'testsrc2=size=4000x3000', '-frames:v', '1', '-q:v', '3', photo])
  run([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=1280x720:rate=30',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440',
    '-t',
    '6',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    video,
  ])
  return { photo, video }
}

const zero = { count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 }

/** Uploads photos and videos in direct conversations; the worker's throughput and time to ready. */
export const runMedia = async (ctx: RunContext): Promise<PhaseResult[]> => {
  const o = ctx.o
  const dir = mkdtempSync(join(tmpdir(), 'chatapp-bench-media-'))
  ctx.cleanup.add('media fixtures', async () => rmSync(dir, { recursive: true, force: true }))
  const files = makeFixtures(dir, ctx.stack?.env.FFMPEG_PATH ?? 'ffmpeg')
  ctx.log(
    `fixtures: photo ${fmtBytes(statSync(files.photo).size)}, video ${fmtBytes(statSync(files.video).size)}`,
  )
  const plans = directPlan(o.clients, ctx.pool.size, `${ctx.runTag}m`)
  const size = await setupChat(ctx, plans)
  const per = splitCount(o.uploads, ctx.pool.size)
  const natsBefore = await ctx.cost.nats()
  const natsWatch = ctx.cost.watchNats()
  const window = await ctx.cost.open(0)
  const t0 = performance.now()
  ctx.bar.start('media', o.durationS * 1000, () => `${fmtInt(o.uploads)} uploads`)
  let results: Awaited<ReturnType<typeof ctx.pool.media>>
  try {
    results = await ctx.pool.media(
      plans.map((p, i) =>
        p.conversations.length === 0 || per[i] === 0
          ? undefined
          : {
              httpUrl: ctx.httpUrl,
              uploads: per[i]!,
              photoShare: o.photoShare,
              photoPath: files.photo,
              videoPath: files.video,
              concurrency: 4,
              readyTimeoutMs: o.drainTimeoutS * 1000 + o.durationS * 1000,
            },
      ),
      (o.drainTimeoutS + o.durationS) * 1000 + 600_000,
    )
  } finally {
    ctx.bar.stop()
  }
  const seconds = (performance.now() - t0) / 1000
  const sum = (f: (r: (typeof results)[number]) => number) => results.reduce((a, r) => a + f(r), 0)
  // The whole step is the window: uploads, variants and media.ready, per upload that became ready.
  const closed = await ctx.cost.close(
    window,
    sum((r) => r.ready),
  )
  const cost = ctx.cost.result({
    unit: 'upload',
    window: 'the whole step (upload, send, variants, media.ready)',
    closed,
    before: natsBefore,
    after: await ctx.cost.nats(),
    peak: await natsWatch.stop(),
  })
  const errors: Record<string, number> = {}
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v
  const ready = sum((r) => r.ready)
  const failed = sum((r) => r.failed)
  const notReady = sum((r) => r.notReady)
  if (failed > 0) errors['media.failed'] = failed
  if (notReady > 0) errors['not ready in time'] = notReady
  ctx.notes.push(
    `media: ${ready} of ${o.uploads} ready; worker throughput ${(ready / seconds).toFixed(2)} media/s`,
  )
  // The worker's own rates and their floors, after the upload phase (the system is idle by then).
  const rate = await measureMediaRate(ctx.log, { ffmpeg: ctx.stack?.env.FFMPEG_PATH ?? 'ffmpeg' }).catch(
    (e: unknown) => {
      ctx.notes.push(`media rate: failed (${String((e as Error)?.message ?? e).slice(0, 300)})`)
      return undefined
    },
  )
  if (rate) {
    const photo = rate.photo.srgb
    const video = clipsOf(rate).find(([name]) => name === 'pattern')?.[1].rows
    if (photo)
      ctx.notes.push(
        `media rate: 12 MP JPEG → variants p50 ${photo.p50Ms.toFixed(0)} ms, p95 ${photo.p95Ms.toFixed(0)} ms ` +
          `(floor: decoding it alone ${photo.floorFullDecodeMs.toFixed(0)} ms, at 1/${photo.shrink} ${photo.floorShrunkDecodeMs.toFixed(0)} ms)`,
      )
    if (video?.worker)
      ctx.notes.push(
        `media rate: 1080p30 → 720p ${video.worker.perCore.toFixed(2)}× real time per core ` +
          `(ffmpeg -preset ultrafast ${video['ffmpeg -preset ultrafast']?.perCore.toFixed(2)}×, ` +
          `superfast ${video['ffmpeg -preset superfast']?.perCore.toFixed(2)}×, same clip, same run)`,
      )
  }
  return [
    {
      name: 'media',
      offeredRate: 0,
      durationS: Math.round(seconds * 10) / 10,
      clients: size.clients,
      conversations: size.conversations,
      sent: o.uploads,
      stored: ready + failed + notReady,
      delivered: ready,
      deliveredPerSecond: Math.round((ready / seconds) * 100) / 100,
      sendErrors: errors,
      errorsFail: true,
      sendToSent: summarize(mergeHistograms(results.map((r) => r.upload))),
      sendToDelivered: zero,
      check: ZERO_COUNTS,
      timeline: [],
      cost,
      extra: {
        'upload→photo ready': summarize(mergeHistograms(results.map((r) => r.imageToReady))),
        'upload→video ready': summarize(mergeHistograms(results.map((r) => r.videoToReady))),
        'media ready per second': Math.round((ready / seconds) * 100) / 100,
        'photo bytes': statSync(files.photo).size,
        'video bytes': statSync(files.video).size,
        ...(rate ? mediaRateFigures(rate) : {}),
      },
    },
  ]
}
