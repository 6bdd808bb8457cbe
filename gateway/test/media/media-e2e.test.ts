import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { ServerFrame, ServerFrameOf, UploadResponse } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import sharp from 'sharp'
import t from 'tap'
import { testGateways } from '../support/gateway.js'
import { gatewayWithMedia } from '../support/media-gateway.js'
import { startProjectorProcess } from '../support/projector.js'
import { TestClient } from '../support/ws-client.js'

// The real media worker, as a process (services never import each other); built by `tsc -b`.
const workerMain = fileURLToPath(new URL('../../../media-worker/dist/main.js', import.meta.url))
const run = promisify(execFile)
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg'

const ANN = 'u_ann000001'
const BOB = 'u_bob000001'
const EVE = 'u_eve000001'

const ffmpegFixture = async (file: string, args: string[]): Promise<Buffer> => {
  const dir = await mkdtemp(join(tmpdir(), 'fixture-'))
  try {
    await run(FFMPEG, ['-nostdin', '-v', 'error', '-y', ...args, join(dir, file)])
    return await readFile(join(dir, file))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const isEvent = (f: ServerFrame): f is ServerFrameOf<'event'> => f.type === 'event'

t.test('a photo, a video, a voice note and a PDF reach the other member with working variants', async (t) => {
  const tn = await createTestNamespace({ shards: 1 })
  t.teardown(tn.cleanup)
  const gws = await testGateways(tn)
  const limits = { image: 2_000_000, video: 4_000_000, audio: 2_000_000, document: 2_000_000 }
  const { http, ws } = await gatewayWithMedia(t, tn, gws, limits)

  // The projector: the peer learns of the conversation from its notices, and the media jobs are
  // published by its reactors once the messages are in the views (ADR 0150).
  const projector = await startProjectorProcess(tn)
  t.teardown(projector.stop)
  const worker: ChildProcess = spawn(process.execPath, [workerMain], {
    env: {
      ...process.env,
      ...tn.env,
      MEDIA_WORKER_OPS_PORT: '0',
      LOG_LEVEL: 'warn',
      MEDIA_VIDEO_MAX_HEIGHT: '240',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  t.teardown(() => {
    worker.kill('SIGKILL')
  })

  const connect = async (user: string) => {
    const c = await TestClient.open(ws, { token: await gws.token(user) })
    t.teardown(() => c.close())
    await c.waitFor((f) => f.type === 'hello')
    const rid = c.nextRid()
    c.send({ type: 'sync', rid })
    await c.waitFor((f) => f.type === 'synced')
    return c
  }
  await gws.token(EVE)
  const ann = await connect(ANN)
  const bob = await connect(BOB)
  const opened = (await ann.request({ type: 'direct.open', peerId: BOB })) as ServerFrameOf<'ok'>
  const conversationId = opened.conversationId!
  const bearer = async (u: string) => ({ authorization: `Bearer ${await gws.token(u)}` })

  const photo = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#2255aa' } })
    .jpeg()
    .withExif({ IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1' } })
    .toBuffer()
  const video = await ffmpegFixture('v.mp4', [
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=320x240:rate=10',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440',
    '-t',
    '1',
    '-shortest',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-c:a',
    'aac',
  ])
  const voice = await ffmpegFixture('a.ogg', [
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=300:duration=2',
    '-c:a',
    'libopus',
  ])
  const pdf = Buffer.from(
    '%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n',
  )

  const cases = [
    { kind: 'image', bytes: photo, variant: 'thumb', mime: 'image/webp' },
    { kind: 'video', bytes: video, variant: 'video', mime: 'video/mp4' },
    { kind: 'audio', bytes: voice, variant: 'audio', mime: 'audio/mp4' },
    { kind: 'document', bytes: pdf, variant: 'original', mime: 'application/pdf' },
  ] as const
  for (const [i, c] of cases.entries()) {
    const up = await fetch(`${http}/v1/media`, {
      method: 'POST',
      body: c.bytes,
      headers: { ...(await bearer(ANN)), 'x-file-name': 'file.bin' },
    })
    t.equal(up.status, 201, `${c.kind}: uploaded`)
    const ref = (await up.json()) as UploadResponse
    t.equal(ref.kind, c.kind, `${c.kind}: kind from the bytes`)

    const stolen = await bob.request({
      type: 'send',
      conversationId,
      clientMsgId: `cm_steal0${i}`,
      kind: c.kind,
      mediaId: ref.mediaId,
    })
    t.equal(
      stolen.type === 'error' && stolen.code,
      'MEDIA_NOT_FOUND',
      `${c.kind}: only the uploader attaches it`,
    )

    const from = bob.frames.length
    const sent = await ann.request({
      type: 'send',
      conversationId,
      clientMsgId: `cm_media00${i}`,
      kind: c.kind,
      mediaId: ref.mediaId,
      text: `a ${c.kind}`,
    })
    t.equal(sent.type, 'sent', `${c.kind}: sent`)
    const msg = await bob.waitFor(
      (f): f is ServerFrameOf<'event'> => isEvent(f) && f.event.type === 'message.sent',
      5000,
      from,
    )
    t.match(msg.event.data, { kind: c.kind, media: { mediaId: ref.mediaId, kind: c.kind } })
    const ready = await bob.waitFor(
      (f): f is ServerFrameOf<'event'> =>
        isEvent(f) &&
        (f.event.type === 'media.ready' || f.event.type === 'media.failed') &&
        f.event.data.mediaId === ref.mediaId,
      60_000,
      from,
    )
    t.equal(ready.event.type, 'media.ready', `${c.kind}: ready arrives live`)

    const dl = await fetch(`${http}/v1/media/${ref.mediaId}/${c.variant}`, { headers: await bearer(BOB) })
    t.equal(dl.status, 200, `${c.kind}: bob downloads ${c.variant}`)
    t.equal(dl.headers.get('content-type'), c.mime)
    const bytes = Buffer.from(await dl.arrayBuffer())
    t.ok(bytes.length > 0)
    if (c.kind === 'image') t.equal((await sharp(bytes).metadata()).exif, undefined, 'no EXIF, no GPS')
    if (c.kind === 'document')
      t.match(dl.headers.get('content-disposition'), /^attachment; filename="file.bin"/)
    const eve = await fetch(`${http}/v1/media/${ref.mediaId}/${c.variant}`, { headers: await bearer(EVE) })
    t.equal(eve.status, 404, `${c.kind}: a stranger gets 404`)
  }
})
