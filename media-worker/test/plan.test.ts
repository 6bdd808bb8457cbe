import t from 'tap'
import { DEFAULT_PLAN_CONFIG, fitVideo, type Probe, plan, waveform } from '../src/plan.js'

const image = (width: number, height: number): Probe => ({ width, height, hasVideo: false, hasAudio: false })
const av = (p: Partial<Probe>): Probe => ({ hasVideo: false, hasAudio: false, ...p })

t.test(
  'plans a WebP thumb and display size with JPEG fallbacks and a placeholder for an image',
  async (t) => {
    const p = plan({ kind: 'image' }, image(4000, 3000))
    t.ok(p.ok)
    if (!p.ok) return
    t.same(
      p.plan.renditions.map((r) => [
        r.name,
        r.op === 'image' ? r.format : '',
        r.op === 'image' ? r.maxSide : 0,
      ]),
      [
        ['thumb', 'webp', 320],
        ['thumb-fallback', 'jpeg', 320],
        ['display', 'webp', 1600],
        ['display-fallback', 'jpeg', 1600],
      ],
    )
    t.equal(p.plan.placeholder, true)
    t.same([p.plan.width, p.plan.height], [4000, 3000])
  },
)

t.test('refuses an image above the pixel limit with MEDIA_TOO_MANY_PIXELS', async (t) => {
  const p = plan({ kind: 'image' }, image(20_000, 20_000))
  t.same(p.ok ? undefined : p.code, 'MEDIA_TOO_MANY_PIXELS')
})

t.test('refuses an image without dimensions as MEDIA_CORRUPT', async (t) => {
  const p = plan({ kind: 'image' }, av({}))
  t.same(p.ok ? undefined : p.code, 'MEDIA_CORRUPT')
})

t.test('scales a 1080p video to 720p with the aspect ratio kept and a poster frame', async (t) => {
  const p = plan(
    { kind: 'video' },
    av({ width: 1920, height: 1080, durationMs: 10_000, hasVideo: true, hasAudio: true }),
  )
  if (!p.ok) return t.fail(p.reason)
  const v = p.plan.renditions.find((r) => r.op === 'video')
  t.match(v, {
    width: 1280,
    height: 720,
    audio: true,
    maxBitrateKbps: DEFAULT_PLAN_CONFIG.videoMaxBitrateKbps,
  })
  t.match(
    p.plan.renditions.find((r) => r.op === 'poster'),
    { atMs: 1000, width: 1280, height: 720 },
  )
  t.equal(p.plan.durationMs, 10_000)
})

t.test('bounds the short side of a portrait video and never enlarges a small one', async (t) => {
  t.same(fitVideo(1080, 1920, 720), { width: 720, height: 1280 })
  t.same(fitVideo(320, 240, 720), { width: 320, height: 240 })
  t.same(fitVideo(641, 361, 360), { width: 640, height: 360 })
  const p = plan({ kind: 'video' }, av({ width: 1920, height: 1080, hasVideo: true }), {
    ...DEFAULT_PLAN_CONFIG,
    videoMaxHeight: 480,
  })
  t.match(p.ok && p.plan.renditions[0], { width: 854, height: 480, audio: false })
})

t.test('takes the poster at half the duration of a very short video', async (t) => {
  const p = plan({ kind: 'video' }, av({ width: 64, height: 64, durationMs: 500, hasVideo: true }))
  t.match(p.ok && p.plan.renditions[1], { op: 'poster', atMs: 250 })
})

t.test('refuses a video without a video stream, too long, or too large', async (t) => {
  const code = (p: ReturnType<typeof plan>) => (p.ok ? 'ok' : p.code)
  t.equal(code(plan({ kind: 'video' }, av({ hasAudio: true }))), 'MEDIA_UNSUPPORTED')
  t.equal(
    code(plan({ kind: 'video' }, av({ width: 64, height: 64, hasVideo: true, durationMs: 2 * 3600_000 }))),
    'MEDIA_TOO_LONG',
  )
  t.equal(
    code(plan({ kind: 'video' }, av({ width: 20_000, height: 20_000, hasVideo: true }))),
    'MEDIA_TOO_MANY_PIXELS',
  )
})

t.test('plans AAC and a waveform for audio, and refuses a file without audio or too long', async (t) => {
  const p = plan({ kind: 'audio' }, av({ hasAudio: true, durationMs: 3000 }))
  t.match(p.ok && p.plan, {
    renditions: [{ name: 'audio', codec: 'aac' }],
    waveformBuckets: 64,
    durationMs: 3000,
  })
  const none = plan({ kind: 'audio' }, av({ hasVideo: true }))
  t.equal(none.ok ? 'ok' : none.code, 'MEDIA_UNSUPPORTED')
  const long = plan({ kind: 'audio' }, av({ hasAudio: true, durationMs: 2 * 3600_000 }))
  t.equal(long.ok ? 'ok' : long.code, 'MEDIA_TOO_LONG')
})

t.test('stores a document as it is', async (t) => {
  t.same(plan({ kind: 'document' }, av({})), {
    ok: true,
    plan: { renditions: [], placeholder: false, waveformBuckets: 0 },
  })
})

t.test('folds levels into at most the asked buckets of 0-255, loudest at 255', async (t) => {
  t.same(waveform([], 64), [])
  t.same(waveform([0, 0, 0], 8), [0, 0, 0])
  t.same(waveform([0.5, 0.25], 64), [255, 128])
  const w = waveform(
    Array.from({ length: 1000 }, (_, i) => i / 1000),
    256,
  )
  t.equal(w.length, 256)
  t.equal(w.at(-1), 255)
  t.ok(w.every((x, i) => x >= 0 && x <= 255 && (i === 0 || x >= w[i - 1]!)))
})
