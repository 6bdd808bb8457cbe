import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { type EventOf, mediaKeys } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { jetstream } from '@nats-io/jetstream'
import sharp from 'sharp'
import t from 'tap'
import { siblingFfprobe } from '../src/tools.js'
import {
  audio,
  concatScript,
  FFMPEG,
  ffmpegFixture,
  hasGpsTag,
  hlsPlaylist,
  jpegWithGps,
  pdf,
  png,
  pngBomb,
  video,
} from './support/fixtures.js'
import { harness, newId } from './support/harness.js'
import { heic } from './support/heic.js'

const run = promisify(execFile)

const tn = await createTestNamespace({ shards: 1 })
t.teardown(tn.cleanup)
const h = await harness(tn)
t.teardown(h.close)

const ready = async (e: Awaited<ReturnType<typeof h.outcome>>): Promise<EventOf<'media.ready'>> => {
  if (e.type !== 'media.ready') throw new Error(`expected media.ready, got ${JSON.stringify(e)}`)
  return e
}

const ffprobeJson = async (bytes: Buffer) => {
  const dir = await mkdtemp(join(tmpdir(), 'probe-'))
  try {
    await writeFile(join(dir, 'f'), bytes)
    const { stdout } = await run(siblingFfprobe(FFMPEG), [
      '-v',
      'error',
      '-f',
      'mov',
      '-print_format',
      'json',
      '-show_format',
      '-show_streams',
      join(dir, 'f'),
    ])
    return JSON.parse(stdout) as {
      streams: { codec_name: string; codec_type: string; width?: number; height?: number }[]
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

// A job taken by a worker that dies before acknowledging it: nobody else sees it until the lease
// (ack wait) runs out, then the work queue hands it to the next worker.
t.test('a job taken by a worker that crashed is redelivered and completed by another', async (t) => {
  const job = await h.submit('image', 'image/png', await png(64, 48))
  const crashed = await jetstream(tn.nc).consumers.get(tn.names.mediaJobStream, tn.names.mediaWorkerConsumer)
  const taken = await crashed.next({ expires: 5000 })
  t.equal(taken?.json<{ mediaId: string }>().mediaId, job.mediaId, 'the crashed worker held the job')
  await h.startWorker()
  const e = await ready(await h.outcome(job))
  t.same([e.data.width, e.data.height], [64, 48])
})

t.test('a JPEG with EXIF GPS becomes upright WebP and JPEG variants without any metadata', async (t) => {
  const original = await jpegWithGps()
  t.ok(hasGpsTag((await sharp(original).metadata()).exif), 'the fixture does carry GPS')
  const job = await h.submit('image', 'image/jpeg', original)
  const e = await ready(await h.outcome(job))
  // Stored sideways (orientation 6): the display size is turned a quarter.
  t.same([e.data.width, e.data.height], [600, 800])
  t.match(e.data.placeholder, /^data:image\/jpeg;base64,/)
  t.same(
    e.data.variants.map((v) => [v.name, v.mime]),
    [
      ['thumb', 'image/webp'],
      ['thumb-fallback', 'image/jpeg'],
      ['display', 'image/webp'],
      ['display-fallback', 'image/jpeg'],
    ],
  )
  for (const v of e.data.variants) {
    const bytes = await h.get(mediaKeys.variant(job.mediaId, v.name))
    const m = await sharp(bytes).metadata()
    t.equal(bytes.length, v.size, `${v.name}: size as announced`)
    t.equal(m.format, v.mime === 'image/webp' ? 'webp' : 'jpeg', `${v.name}: format`)
    t.equal(m.exif, undefined, `${v.name}: no EXIF (so no GPS)`)
    t.ok((m.orientation ?? 1) === 1, `${v.name}: pixels upright`)
    t.ok(m.height! > m.width!, `${v.name}: portrait`)
    t.ok(Math.max(m.width!, m.height!) <= (v.name.startsWith('thumb') ? 320 : 1600), `${v.name}: bounded`)
  }
  const manifest = JSON.parse((await h.get(mediaKeys.manifest(job.mediaId))).toString())
  t.same(manifest, e.data, 'the manifest is what was announced')
})

t.test(
  'a HEIC photo from a phone (grid, P3, irot, EXIF with GPS) becomes upright variants without metadata',
  async (t) => {
    const png = await sharp({ create: { width: 1024, height: 768, channels: 3, background: '#2060c0' } })
      .png()
      .toBuffer()
    const icc = (await sharp(await sharp(png).withIccProfile('p3').png().toBuffer()).metadata()).icc!
    const exif = (await sharp(await jpegWithGps()).metadata()).exif!
    const original = await heic({ png, width: 1024, height: 768, columns: 2, rows: 2, icc, irot: 3, exif })
    const job = await h.submit('image', 'image/heic', original)
    const e = await ready(await h.outcome(job, 60_000))
    t.same([e.data.width, e.data.height], [768, 1024], 'irot 3: portrait')
    t.match(e.data.placeholder, /^data:image\/jpeg;base64,/)
    t.equal(e.data.variants.length, 4)
    for (const v of e.data.variants) {
      const m = await sharp(await h.get(mediaKeys.variant(job.mediaId, v.name))).metadata()
      t.equal(m.exif, undefined, `${v.name}: no EXIF (so no GPS)`)
      t.equal(m.icc, undefined, `${v.name}: no profile (sRGB)`)
      t.ok(m.height! > m.width!, `${v.name}: portrait`)
    }
  },
)

t.test('an MP4 becomes a bounded H.264/AAC faststart MP4 with a poster, duration and size', async (t) => {
  const job = await h.submit('video', 'video/mp4', await video('mp4', '640x360'))
  const e = await ready(await h.outcome(job, 60_000))
  t.same([e.data.width, e.data.height], [426, 240], 'scaled to the configured 240 lines')
  t.ok(Math.abs(e.data.durationMs! - 2000) < 300, `duration ${e.data.durationMs}`)
  t.match(e.data.placeholder, /^data:image\/jpeg/)
  const mp4 = await h.get(mediaKeys.variant(job.mediaId, 'video'))
  const info = await ffprobeJson(mp4)
  t.match(info.streams, [
    { codec_type: 'video', codec_name: 'h264', width: 426, height: 240 },
    { codec_type: 'audio', codec_name: 'aac' },
  ])
  t.ok(mp4.indexOf('moov') < mp4.indexOf('mdat'), 'moov before mdat (faststart)')
  const poster = await sharp(await h.get(mediaKeys.variant(job.mediaId, 'poster'))).metadata()
  t.match(poster, { format: 'jpeg', width: 426, height: 240 })
})

t.test('renditions of videos and voice notes carry none of the source’s metadata', async (t) => {
  // A phone's location, a title, an artist, a comment and a recording time, in the container and
  // in a stream: none may reach a member through a rendition.
  const planted = [
    '+48.8584+002.2945',
    'SecretTitle',
    'JaneDoe',
    'PrivateComment',
    'StreamSecret',
    '2024-05-01',
  ]
  const tags = [
    ['-metadata', 'location=+48.8584+002.2945/'],
    ['-metadata', 'title=SecretTitle'],
    ['-metadata', 'artist=JaneDoe'],
    ['-metadata', 'comment=PrivateComment'],
    ['-metadata', 'creation_time=2024-05-01T10:00:00Z'],
  ].flat()
  const sources: [string, 'video' | 'audio', string, Buffer][] = [
    [
      'MOV video',
      'video',
      'video/quicktime',
      await ffmpegFixture('v.mov', [
        ...['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-f', 'lavfi', '-i', 'sine=frequency=440'],
        ...['-t', '1', '-shortest', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac'],
        ...tags,
        ...['-metadata:s:v:0', 'title=StreamSecret', '-movflags', 'use_metadata_tags'],
      ]),
    ],
    [
      'M4A voice note',
      'audio',
      'audio/mp4',
      await ffmpegFixture('a.m4a', [
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=300:duration=1',
        '-c:a',
        'aac',
        ...tags,
      ]),
    ],
    [
      'MP3 with ID3',
      'audio',
      'audio/mpeg',
      await ffmpegFixture('a.mp3', [
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=300:duration=1',
        '-c:a',
        'libmp3lame',
        ...tags,
      ]),
    ],
  ]
  for (const [label, kind, mime, bytes] of sources) {
    t.ok(
      planted.some((p) => bytes.includes(p)),
      `${label}: the source carries the metadata (${planted.filter((p) => bytes.includes(p))})`,
    )
    const job = await h.submit(kind, mime, bytes)
    const e = await ready(await h.outcome(job, 60_000))
    for (const v of e.data.variants) {
      const out = await h.get(mediaKeys.variant(job.mediaId, v.name))
      t.same(
        planted.filter((p) => out.includes(p)),
        [],
        `${label}: the ${v.name} rendition carries none of it`,
      )
    }
  }
})

t.test('a WebM video is transcoded to MP4 as well', async (t) => {
  const job = await h.submit('video', 'video/webm', await video('webm', '320x240'))
  const e = await ready(await h.outcome(job, 60_000))
  t.same(
    e.data.variants.map((v) => [v.name, v.mime]),
    [
      ['video', 'video/mp4'],
      ['poster', 'image/jpeg'],
    ],
  )
  t.same([e.data.width, e.data.height], [320, 240])
})

t.test('every audio format becomes AAC with a duration and a rising waveform', async (t) => {
  const formats = [
    ['ogg', 'audio/ogg'],
    ['m4a', 'audio/mp4'],
    ['mp3', 'audio/mpeg'],
    ['wav', 'audio/wav'],
  ] as const
  const jobs = await Promise.all(formats.map(async ([f, mime]) => h.submit('audio', mime, await audio(f))))
  for (const [i, job] of jobs.entries()) {
    const e = await ready(await h.outcome(job, 60_000))
    const name = formats[i]![0]
    t.same(
      e.data.variants.map((v) => [v.name, v.mime]),
      [['audio', 'audio/mp4']],
      name,
    )
    t.ok(Math.abs(e.data.durationMs! - 3000) < 200, `${name}: duration ${e.data.durationMs}`)
    const w = e.data.waveform!
    t.ok(w.length > 10 && w.length <= 256, `${name}: ${w.length} buckets`)
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    const q = Math.floor(w.length / 4)
    // AAC's encoder priming can click in the first window: compare quarters, not single buckets.
    t.ok(mean(w.slice(-q)) > 200 && mean(w.slice(0, q)) < 100, `${name}: quiet start, loud end`)
    const info = await ffprobeJson(await h.get(mediaKeys.variant(job.mediaId, 'audio')))
    t.match(info.streams, [{ codec_type: 'audio', codec_name: 'aac' }], `${name}: AAC`)
  }
})

t.test('a PDF is stored as it is: ready with no variants', async (t) => {
  const job = await h.submit('document', 'application/pdf', pdf())
  const e = await ready(await h.outcome(job))
  t.same(e.data.variants, [])
})

t.test('hostile and broken inputs end as media.failed with a reason, and good jobs go on', async (t) => {
  const jpeg = await jpegWithGps()
  const mp4 = await video('mp4', '320x240')
  const cases = [
    ['truncated JPEG', 'image', 'image/jpeg', jpeg.subarray(0, Math.floor(jpeg.length / 2)), /MEDIA_CORRUPT/],
    ['random bytes as PNG', 'image', 'image/png', Buffer.alloc(2000, 7), /MEDIA_CORRUPT|MEDIA_UNSUPPORTED/],
    [
      'pixel bomb (PNG declaring 60000x60000)',
      'image',
      'image/png',
      await pngBomb(60_000, 60_000),
      /MEDIA_TOO_MANY_PIXELS/,
    ],
    ['PDF lying that it is an MP4', 'video', 'video/mp4', pdf(), /MEDIA_CORRUPT/],
    [
      'truncated MP4 (no index)',
      'video',
      'video/mp4',
      mp4.subarray(0, Math.floor(mp4.length / 3)),
      /MEDIA_CORRUPT/,
    ],
    ['HLS playlist posing as MP4', 'video', 'video/mp4', hlsPlaylist(), /MEDIA_CORRUPT/],
    ['HLS playlist posing as WebM', 'video', 'video/webm', hlsPlaylist(), /MEDIA_CORRUPT/],
    ['concat script posing as MP3', 'audio', 'audio/mpeg', concatScript(), /MEDIA_CORRUPT|MEDIA_UNSUPPORTED/],
    ['concat script posing as Ogg', 'audio', 'audio/ogg', concatScript(), /MEDIA_CORRUPT|MEDIA_UNSUPPORTED/],
  ] as const
  const jobs = []
  for (const [, kind, mime, bytes] of cases) jobs.push(await h.submit(kind, mime, Buffer.from(bytes)))
  const good = await h.submit('image', 'image/png', await png(10, 10))
  for (const [i, job] of jobs.entries()) {
    const [label, , , , code] = cases[i]!
    const e = await h.outcome(job, 60_000)
    t.equal(e.type, 'media.failed', label)
    if (e.type === 'media.failed') {
      t.match(e.data.code, code, `${label}: ${e.data.code} ${e.data.reason}`)
      t.ok(e.data.reason.length > 0, `${label}: a reason`)
    }
  }
  t.equal((await h.outcome(good)).type, 'media.ready', 'a good job after them is processed')
})

t.test('a job whose original is gone fails with MEDIA_NOT_FOUND, whatever its kind', async (t) => {
  const job = {
    v: 1 as const,
    mediaId: newId('m'),
    conversationId: newId('c'),
    uploaderId: 'u_uploader1',
    kind: 'image' as const,
    mime: 'image/png',
    size: 10,
    key: 'media/m_nothere/original',
    enqueuedAt: Date.now(),
  }
  await h.publishJob(job)
  const e = await h.outcome(job)
  t.match(e, { type: 'media.failed', data: { code: 'MEDIA_NOT_FOUND' } })
  const doc = { ...job, mediaId: newId('m'), kind: 'document' as const, mime: 'application/pdf' }
  await h.publishJob(doc)
  t.match(await h.outcome(doc), { type: 'media.failed', data: { code: 'MEDIA_NOT_FOUND' } }, 'a document too')
})

t.test('the same media shared in a second conversation reuses the manifest', async (t) => {
  const first = await h.submit('image', 'image/png', await png(30, 20))
  const a = await ready(await h.outcome(first))
  const second = { ...first, conversationId: newId('c') }
  await h.publishJob(second)
  const b = await ready(await h.outcome(second))
  t.same(b.data, a.data)
  t.not(b.id, a.id, 'one event per conversation')
})

t.test('exports job counts, durations and the queue depth', async (t) => {
  const text = await h.registry.metrics()
  t.match(text, /media_jobs_total\{kind="image",outcome="ready"\} \d+/)
  t.match(text, /media_jobs_total\{kind="video",outcome="failed"\} \d+/)
  t.match(text, /media_job_duration_seconds_count\{kind="audio",outcome="ready"\} [1-9]\d*/)
  t.match(text, /media_queue_depth 0/)
})
