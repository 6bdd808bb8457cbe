import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import sharp from 'sharp'
import t from 'tap'
import {
  audioLevels,
  createAvTools,
  demuxerFor,
  extractFrame,
  probeAv,
  transcodeAudio,
  transcodeVideo,
} from '../src/av.js'
import { isPermanent } from '../src/failure.js'
import { DEFAULT_PLAN_CONFIG, plan, type Rendition } from '../src/plan.js'
import { findPrlimit, siblingFfprobe } from '../src/tools.js'
import { audio, declareDuration, FFMPEG, video } from './support/fixtures.js'
import { processesWith } from './support/processes.js'

const run = promisify(execFile)

const dir = await mkdtemp(join(tmpdir(), 'av-test-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const file = async (name: string, bytes: Buffer | string) => {
  const p = join(dir, name)
  await writeFile(p, bytes)
  return p
}

// Generous bounds for real work on a shared 2-core machine, a short one for the stalls.
const av = await createAvTools({ ffmpeg: FFMPEG, timeoutMs: 120_000, memoryBytes: 1024 ** 3, threads: 1 })
t.teardown(av.close)
const STALL_MS = 3000
const quick = await createAvTools({ ffmpeg: FFMPEG, timeoutMs: STALL_MS, memoryBytes: 1024 ** 3, threads: 1 })
t.teardown(quick.close)

const clip: Extract<Rendition, { op: 'video' }> = {
  name: 'video',
  op: 'video',
  width: 320,
  height: 180,
  maxBitrateKbps: 500,
  audio: true,
  audioBitrateKbps: 64,
}

const code = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  )
  return isPermanent(e) ? e.code : `not a PermanentFailure: ${String(e)}`
}

t.test('probes, transcodes, extracts a frame and reads levels through fluent-ffmpeg', async (t) => {
  const mp4 = await file('ok.mp4', await video('mp4', '640x360'))
  t.same(await probeAv(av, 'video/mp4', mp4), {
    hasVideo: true,
    hasAudio: true,
    width: 640,
    height: 360,
    durationMs: 2000,
    format: 'mov,mp4,m4a,3gp,3g2,mj2',
  })
  const out = join(dir, 'ok-out.mp4')
  await transcodeVideo(av, 'video/mp4', mp4, clip, out, 60_000)
  const again = await probeAv(av, 'video/mp4', out)
  t.match(again, { hasVideo: true, hasAudio: true, width: 320, height: 180 })
  const png = join(dir, 'frame.png')
  await extractFrame(av, 'video/mp4', mp4, 1000, { width: 160, height: 90 }, png)
  t.match(await sharp(png).metadata(), { format: 'png', width: 160, height: 90 })
  const ogg = await file('a.ogg', await audio('ogg'))
  const levels = await audioLevels(av, 'audio/ogg', ogg, 60_000)
  t.ok(levels.length >= 29 && levels.length <= 31, `${levels.length} windows of 100 ms in 3 s`)
  t.ok(levels.at(-1)! > levels[2]!, 'the tone rises')
  const m4a = join(dir, 'a.m4a')
  await transcodeAudio(
    av,
    'audio/ogg',
    ogg,
    { name: 'audio', op: 'audio', codec: 'aac', bitrateKbps: 64 },
    m4a,
    60_000,
  )
  t.match(await probeAv(av, 'audio/mp4', m4a), { hasAudio: true, hasVideo: false })
})

t.test('a refused input fails as MEDIA_CORRUPT with what ffmpeg said on stderr', async (t) => {
  const bogus = await file('bogus.mp4', Buffer.alloc(4096, 0x41))
  const e = await probeAv(av, 'video/mp4', bogus).catch((x: unknown) => x)
  t.match(e, { code: 'MEDIA_CORRUPT', message: /moov atom not found|Invalid data/ })
  const f = await transcodeVideo(av, 'video/mp4', bogus, clip, join(dir, 'x.mp4'), 60_000).catch(
    (x: unknown) => x,
  )
  t.match(f, { code: 'MEDIA_CORRUPT', message: /moov atom not found|Invalid data/ })
  t.equal(await code(probeAv(av, 'application/x-mpegurl', bogus)), 'MEDIA_UNSUPPORTED', 'no demuxer: refused')
  t.throws(() => demuxerFor('image/png'), { code: 'MEDIA_UNSUPPORTED' })
})

t.test('a hostile HLS playlist opens neither the URLs nor the files it names', async (t) => {
  const requests: string[] = []
  const server = createServer((req, res) => {
    requests.push(req.url ?? '')
    res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const port = (server.address() as AddressInfo).port
  // A FIFO nobody writes: opening it would block until the deadline (MEDIA_TIMEOUT, not CORRUPT).
  const fifo = join(dir, 'trap.ts')
  await run('mkfifo', [fifo])
  const playlist = (urls: string[]) =>
    `#EXTM3U\n#EXT-X-TARGETDURATION:1\n${urls.map((u) => `#EXTINF:1,\n${u}\n`).join('')}#EXT-X-ENDLIST\n`
  const hostile = await file(
    'hostile.m3u8',
    playlist([`http://127.0.0.1:${port}/segment.ts`, `file://${fifo}`, 'file:///etc/passwd']),
  )
  // The detector works: ffmpeg allowed HTTP (Debian's 5.1 no longer allows it from a local
  // playlist by default, upstream ffmpeg before 6 did) fetches the segment a playlist names.
  const control = await file('control.m3u8', playlist([`http://127.0.0.1:${port}/control.ts`]))
  await run(FFMPEG, [
    '-nostdin',
    '-v',
    'quiet',
    '-protocol_whitelist',
    'file,http,tcp',
    '-i',
    control,
    '-f',
    'null',
    '-',
  ]).catch(() => undefined)
  t.same(requests, ['/control.ts'], 'plain ffmpeg follows the playlist')

  for (const mime of ['video/mp4', 'video/webm', 'audio/mpeg', 'audio/ogg', 'audio/aac']) {
    t.equal(await code(probeAv(av, mime, hostile)), 'MEDIA_CORRUPT', `probe as ${mime}`)
    t.equal(
      await code(transcodeVideo(av, mime, hostile, clip, join(dir, 'h.mp4'), 60_000)),
      'MEDIA_CORRUPT',
      `transcode as ${mime}`,
    )
  }
  t.same(requests, ['/control.ts'], 'the worker never requested a URL of the playlist')
})

t.test('a stalled input ends as MEDIA_TIMEOUT at the bound and leaves no process behind', async (t) => {
  const fifo = join(dir, 'stalled.mp4')
  await run('mkfifo', [fifo])
  for (const [label, attempt] of [
    ['probe', () => probeAv(quick, 'video/mp4', fifo)],
    ['transcode', () => transcodeVideo(quick, 'video/mp4', fifo, clip, join(dir, 's.mp4'), 60_000)],
    ['levels', () => audioLevels(quick, 'video/mp4', fifo, 60_000)],
  ] as const) {
    const started = Date.now()
    t.equal(await code(attempt()), 'MEDIA_TIMEOUT', label)
    const took = Date.now() - started
    t.ok(took >= STALL_MS - 50 && took < STALL_MS + 4000, `${label}: ended after ${took} ms`)
    t.same(await processesWith(fifo), [], `${label}: no ffmpeg/ffprobe still holds the input`)
  }
})

t.test('a huge declared duration is refused before any transcoding, and output is capped', async (t) => {
  const mp4 = await video('mp4', '320x240')
  const liar = await file('liar.mp4', declareDuration(mp4, 0xfffffff0))
  const probe = await probeAv(av, 'video/mp4', liar)
  t.ok(probe.durationMs! > 24 * 3600_000, `declares ${probe.durationMs} ms`)
  t.match(plan({ kind: 'video' }, probe), { ok: false, code: 'MEDIA_TOO_LONG' })
  // Whatever the header says, a rendition never runs longer than the cap.
  const out = join(dir, 'capped.mp4')
  await transcodeVideo(av, 'video/mp4', await file('real.mp4', mp4), clip, out, 1000)
  const capped = await probeAv(av, 'video/mp4', out)
  t.ok(capped.durationMs! <= 1100, `rendition of ${capped.durationMs} ms for a 1 s cap`)
  t.equal(DEFAULT_PLAN_CONFIG.maxDurationMs, 3_600_000)
})

t.test(
  'the memory bound holds: ffmpeg cannot run in 32 MiB of address space',
  { skip: findPrlimit() ? false : 'no prlimit here' },
  async (t) => {
    const small = await createAvTools({
      ffmpeg: FFMPEG,
      timeoutMs: 60_000,
      memoryBytes: 32 * 1024 ** 2,
      threads: 1,
    })
    t.teardown(small.close)
    const mp4 = await file('mem.mp4', await video('mp4', '640x360'))
    t.equal(
      await code(transcodeVideo(small, 'video/mp4', mp4, clip, join(dir, 'm.mp4'), 60_000)),
      'MEDIA_CORRUPT',
      'refused by the cap',
    )
    await transcodeVideo(av, 'video/mp4', mp4, clip, join(dir, 'm.mp4'), 60_000)
    t.pass('the same run passes under the normal cap')
    t.equal(siblingFfprobe(FFMPEG).endsWith('ffprobe'), true)
  },
)

t.test('one process points fluent-ffmpeg at one set of launchers at a time', async (t) => {
  const mp4 = await file('one.mp4', await video('mp4', '320x240'))
  const other = await createAvTools({ ffmpeg: FFMPEG, timeoutMs: 120_000, memoryBytes: 0, threads: 1 })
  t.teardown(other.close)
  const first = probeAv(av, 'video/mp4', mp4)
  await t.rejects(probeAv(other, 'video/mp4', mp4), /one ffmpeg path per process/)
  await first
  t.match(await probeAv(other, 'video/mp4', mp4), { hasVideo: true }, 'switching between runs is fine')
})
