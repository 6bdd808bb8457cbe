import { request } from 'node:http'
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { type MediaRef, mediaJobDecoder, mediaKeys } from '@chatapp/contracts'
import { createTestNamespace, s3Client } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import { jetstreamManager } from '@nats-io/jetstream'
import sharp from 'sharp'
import t from 'tap'
import { createTokenService, generatePrivateKeyPem } from '../../src/accounts/token-service.js'
import { openGatewayDb } from '../../src/db/gateway-db.js'
import { mediaRepo } from '../../src/media/media-repo.js'
import { createMediaService } from '../../src/media/media-service.js'
import { mediaRoutes } from '../../src/media/routes.js'
import { uploadLedger } from '../../src/media/upload-ledger.js'
import { DEFAULT_UPLOAD_QUOTA } from '../../src/media/upload-quota.js'
import type { MembershipPort } from '../../src/ports.js'
import { startHttpServer } from '../../src/transport/http/uws-http.js'
import { eventually, logSharer, startProjectorProcess, viewsOf } from '../support/projector.js'
import { postChunked, RawConnection, rawHead } from '../support/raw-http.js'

const tn = await createTestNamespace({ shards: 1 })
t.teardown(tn.cleanup)
const log = createLogger('test', 'silent')
const schema = tn.names.dbSchemas.gateway
const db = await openGatewayDb(tn.stack.databaseUrl, schema, log)
t.teardown(() => db.close())
const s3 = s3Client(tn.stack.s3)
t.teardown(() => s3.destroy())
const bucket = tn.names.s3Bucket

/**
 * Membership as the log reports it; a memory twin (members joined before any message), since this
 * file tests the media module. Where a media was shared is the real thing: messages carrying it
 * appended to the log, and projected into the views by the real projector.
 */
const members = new Map<string, Set<string>>()
/** Members who joined later than the start: `<conversation>:<user>` → the join's sequence. */
const joinedLate = new Map<string, number>()
const membership: Pick<MembershipPort, 'joinedAt'> = {
  joinedAt: async (conversationId, userId) =>
    members.get(conversationId)?.has(userId)
      ? (joinedLate.get(`${conversationId}:${userId}`) ?? 0)
      : undefined,
}
const projector = await startProjectorProcess(tn)
t.teardown(projector.stop)
const views = viewsOf(tn)
t.teardown(views.close)
const sharer = await logSharer(tn, views)
/** What a send of `ref` in `conversationId` leaves in the log; resolves once the views show the share. */
const share = (ref: MediaRef, conversationId: string) => sharer.share(ref, conversationId, ANN)
const LIMITS = { image: 300_000, video: 400_000, audio: 100_000, document: 600_000 }
const service = (limits: typeof LIMITS) =>
  createMediaService({
    repo: mediaRepo(db.orm, tn.names.dbSchemas.views),
    ledger: uploadLedger(db.orm, tn.names.dbSchemas, DEFAULT_UPLOAD_QUOTA),
    s3,
    names: tn.names,
    membership,
    limits,
  })
const media = service(LIMITS)
// Records how each upload ended inside the service, for the tests the client cannot observe.
const uploadErrors: string[] = []
/** Content-Length of every upload that reached the service (the abandoned one is told by it). */
const uploadsStarted: (number | undefined)[] = []
const observed = {
  ...media,
  upload: (input: Parameters<typeof media.upload>[0]) => {
    uploadsStarted.push(input.declaredLength)
    return media.upload(input).catch((e: unknown) => {
      uploadErrors.push((e as { code?: string }).code ?? 'other')
      throw e
    })
  },
}
const waitUntil = async (cond: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  return cond()
}
const tokens = await createTokenService({ privateKeyPem: generatePrivateKeyPem(), ttlS: 60 })
const server = await startHttpServer({
  routes: mediaRoutes({ media: observed, maxUploadBytes: Math.max(...Object.values(LIMITS)) }),
  // The per-user upload rate is the transport's (tested there); this file uploads a lot as one user.
  deps: { tokens, log, rateLimits: { upload: { perSecond: 100, burst: 100 } } },
})
t.teardown(() => server.close())
const base = `http://127.0.0.1:${server.port}`

const ANN = 'u_ann000001'
const BOB = 'u_bob000001'
const EVE = 'u_eve000001'
const auth = async (userId: string) => ({
  authorization: `Bearer ${(await tokens.issue(userId, 'dev1', `s_${userId}`)).accessToken}`,
})
const upload = async (
  userId: string,
  body: Buffer,
  o: { query?: string; headers?: Record<string, string> } = {},
) =>
  fetch(`${base}/v1/media${o.query ?? ''}`, {
    method: 'POST',
    body,
    headers: { ...(await auth(userId)), 'content-type': 'application/octet-stream', ...o.headers },
  })
const errorCode = async (r: Response) => ((await r.json()) as { error: { code: string } }).error.code
const objectCount = async () =>
  ((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'media/' }))).Contents ?? []).length

/** Stores a rendition as the media worker would (its own tests show renditions carry no metadata). */
const putVariant = async (mediaId: string, name: 'thumb' | 'display') => {
  const webp = await sharp({ create: { width: 16, height: 12, channels: 3, background: '#123456' } })
    .webp()
    .toBuffer()
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: mediaKeys.variant(mediaId, name),
      Body: webp,
      ContentType: 'image/webp',
    }),
  )
}
/** The GPS IFD pointer tag (0x8825), little- or big-endian. */
const hasGps = (exif: Buffer | undefined) =>
  exif !== undefined && (exif.includes(Buffer.from([0x25, 0x88])) || exif.includes(Buffer.from([0x88, 0x25])))

const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#884422' } })
  .jpeg()
  .toBuffer()
const pdf = Buffer.from(
  '%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n',
)

t.test('uploads a photo: type from the bytes, whatever the client claims', async (t) => {
  const r = await upload(ANN, jpeg, {
    headers: { 'content-type': 'application/pdf', 'x-file-name': 'evil.html' },
  })
  t.equal(r.status, 201)
  const body = (await r.json()) as MediaRef
  t.match(body, { mediaId: /^m_/, kind: 'image', mime: 'image/jpeg', size: jpeg.length })
  t.notOk('name' in body, 'a photo keeps no file name')
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: mediaKeys.original(body.mediaId) }))
  t.equal(head.ContentLength, jpeg.length)
  t.equal(head.ContentType, 'image/jpeg')
})

t.test('refuses bytes that are no accepted type, and a kind the bytes contradict', async (t) => {
  const before = await objectCount()
  const html = await upload(ANN, Buffer.from('<!doctype html><script>alert(1)</script>'))
  t.equal(html.status, 415)
  t.equal(await errorCode(html), 'UNSUPPORTED_MEDIA_TYPE')
  const lying = await upload(ANN, pdf, { query: '?kind=video' })
  t.equal(lying.status, 415)
  t.equal(await errorCode(lying), 'UNSUPPORTED_MEDIA_TYPE')
  const bad = await upload(ANN, jpeg, { query: '?kind=sticker' })
  t.equal(bad.status, 400)
  t.equal(await objectCount(), before, 'nothing stored')
})

t.test('refuses an empty upload and one without a token', async (t) => {
  const empty = await upload(ANN, Buffer.alloc(0))
  t.equal(empty.status, 400)
  t.equal(await errorCode(empty), 'INVALID_REQUEST')
  const anon = await fetch(`${base}/v1/media`, { method: 'POST', body: jpeg })
  t.equal(anon.status, 401)
})

t.test('stores any file as a document when asked, with a sanitised name', async (t) => {
  const r = await upload(ANN, Buffer.from('just some notes\n'), {
    query: '?kind=document',
    headers: { 'x-file-name': encodeURIComponent('../secret/Notes "v2".txt') },
  })
  t.equal(r.status, 201)
  t.match(await r.json(), { kind: 'document', mime: 'application/octet-stream', name: 'Notes _v2_.txt' })
})

t.test('refuses a photo over the photo limit and removes what was stored', async (t) => {
  // Valid JPEG head, then padding: the limit is that of the sniffed kind (image), not document's.
  const big = Buffer.concat([jpeg, Buffer.alloc(LIMITS.image, 1)])
  const before = await objectCount()
  const r = await upload(ANN, big)
  t.equal(r.status, 413)
  t.equal(await errorCode(r), 'PAYLOAD_TOO_LARGE')
  // A chunked body (no Content-Length) is cut while streaming.
  t.match(await postChunked(`${base}/v1/media`, await auth(ANN), big), { status: 413 })
  t.equal(await objectCount(), before, 'no partial object left')
})

t.test('a chunked upload over a limit larger than one multipart part is refused with 413', async (t) => {
  // Past 5 MiB the store upload is multipart; the refusal must not be lost behind the failure to
  // abort it (s3rver has no AbortMultipartUpload and answers 405).
  const big = { ...LIMITS, image: 6 * 1024 * 1024 }
  const srv = await startHttpServer({
    routes: mediaRoutes({ media: service(big), maxUploadBytes: 20 * 1024 * 1024 }),
    deps: { tokens, log },
  })
  t.teardown(() => srv.close())
  const body = Buffer.concat([jpeg, Buffer.alloc(big.image, 1)])
  const answer = await postChunked(`http://127.0.0.1:${srv.port}/v1/media`, await auth(ANN), body)
  t.same(answer, { status: 413, code: 'PAYLOAD_TOO_LARGE' })
})

t.test('an upload the client abandons ends as UPLOAD_ABORTED and leaves no object', async (t) => {
  const before = await objectCount()
  uploadErrors.length = 0
  const h = await auth(ANN)
  const req = request(`${base}/v1/media`, {
    method: 'POST',
    agent: false,
    headers: { ...h, 'content-length': String(200_000) },
  })
  const closed = new Promise<void>((resolve) => {
    req.on('error', () => resolve())
    req.on('close', () => resolve())
  })
  req.write(Buffer.concat([jpeg, Buffer.alloc(20_000)]))
  // Go away only once the server is inside the upload, part of the body streamed.
  t.ok(await waitUntil(() => uploadsStarted.includes(200_000)), 'the upload started')
  req.destroy()
  await closed
  t.ok(
    await waitUntil(() => uploadErrors.includes('UPLOAD_ABORTED')),
    `ended as UPLOAD_ABORTED (${uploadErrors})`,
  )
  t.equal(await objectCount(), before)
})

t.test('only the uploader may attach a media', async (t) => {
  const r = (await (await upload(ANN, jpeg)).json()) as MediaRef
  t.match(await media.forAttach(r.mediaId, ANN), { mediaId: r.mediaId, kind: 'image', mime: 'image/jpeg' })
  t.equal(await media.forAttach(r.mediaId, BOB), undefined)
  t.equal(await media.forAttach('m_doesnotexist', ANN), undefined)
})

t.test('sharing enqueues one media job per conversation, however often it is sent there', async (t) => {
  const ref = (await (await upload(ANN, jpeg)).json()) as MediaRef
  const convA = 'c_share00001'
  const convB = 'c_share00002'
  // Twice in A (a send retried after the duplicate window is stored twice), once in B.
  await share(ref, convA)
  await share(ref, convA)
  await share(ref, convB)
  const jsm = await jetstreamManager(tn.nc)
  const jobsOf = async () => {
    const out = []
    const { state } = await jsm.streams.info(tn.names.mediaJobStream)
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(tn.names.mediaJobStream, { seq }).catch(() => undefined)
      const d = m ? mediaJobDecoder.decode(m.data) : undefined
      if (m && d?.ok && d.value.mediaId === ref.mediaId) out.push({ subject: m.subject, job: d.value })
    }
    return out
  }
  // Published by the projector's reactors once the messages are in the views (ADR 0150).
  await eventually(async () => (await jobsOf()).length >= 2, 10_000, 'the jobs')
  const jobs = await jobsOf()
  t.same(
    jobs.map((j) => [j.subject, j.job.conversationId, j.job.kind, j.job.mime, j.job.key]),
    [
      [tn.names.mediaJobSubject('image'), convA, 'image', 'image/jpeg', mediaKeys.original(ref.mediaId)],
      [tn.names.mediaJobSubject('image'), convB, 'image', 'image/jpeg', mediaKeys.original(ref.mediaId)],
    ],
  )
})

t.test('downloads: the uploader and members of a sharing conversation; anyone else gets 404', async (t) => {
  const ref = (await (await upload(ANN, jpeg)).json()) as MediaRef
  const get = async (userId: string, path = `/v1/media/${ref.mediaId}/original`, headers = {}) =>
    fetch(`${base}${path}`, { headers: { ...(await auth(userId)), ...headers } })
  const own = await get(ANN)
  t.equal(own.status, 200)
  t.same(Buffer.from(await own.arrayBuffer()), jpeg)
  t.equal(own.headers.get('content-type'), 'image/jpeg')
  t.equal(own.headers.get('x-content-type-options'), 'nosniff')
  t.equal(own.headers.get('accept-ranges'), 'bytes')

  const thumb = `/v1/media/${ref.mediaId}/thumb`
  t.equal((await get(ANN, thumb)).status, 404, 'variant not made yet')
  await putVariant(ref.mediaId, 'thumb')
  const before = await get(BOB, thumb)
  t.equal(before.status, 404, 'not shared with bob yet')
  t.equal(await errorCode(before), 'MEDIA_NOT_FOUND')
  members.set('c_dl0000001', new Set([ANN, BOB]))
  const shared = await share(ref, 'c_dl0000001')
  const bobs = await get(BOB, thumb)
  t.equal(bobs.status, 200, 'bob is a member where it was shared')
  // Eve joins after the message: it was never hers to see, until a later message carries it.
  const added = await sharer.append(
    sharer.event('c_dl0000001', ANN, 'member.added', { userId: EVE, role: 'member' }),
  )
  t.ok(added > shared)
  members.get('c_dl0000001')!.add(EVE)
  joinedLate.set(`c_dl0000001:${EVE}`, added)
  t.equal((await get(EVE, thumb)).status, 404, 'a member who joined after the message that shared it')
  await share(ref, 'c_dl0000001')
  t.equal((await get(EVE, thumb)).status, 200, 'shared again after she joined')
  members.get('c_dl0000001')!.delete(EVE)
  t.equal(bobs.headers.get('content-type'), 'image/webp')
  const eve = await get(EVE, thumb)
  t.equal(eve.status, 404)
  t.equal(await errorCode(eve), 'MEDIA_NOT_FOUND')
  const unknown = await get(EVE, '/v1/media/m_doesnotexist1/thumb')
  t.equal(unknown.status, 404, 'unknown and forbidden look the same')
  t.equal(await errorCode(unknown), 'MEDIA_NOT_FOUND')
  t.equal((await get(ANN, `/v1/media/${ref.mediaId}/..%2f..%2fetc`)).status, 404, 'no such variant')
  t.equal((await get(ANN, '/v1/media/not-an-id/original')).status, 404)
  members.get('c_dl0000001')!.delete(BOB)
  t.equal((await get(BOB, thumb)).status, 404, 'bob left the conversation')
})

t.test('members get a photo’s renditions, never its original with the EXIF GPS', async (t) => {
  const photo = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#225588' } })
    .jpeg()
    .withExif({
      IFD0: { Make: 'TestCam' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '48/1 51/1 30/1',
        GPSLongitudeRef: 'E',
        GPSLongitude: '2/1 17/1 40/1',
      },
    })
    .toBuffer()
  const gps = (b: Buffer) => (sharp(b).metadata() as Promise<{ exif?: Buffer }>).then((m) => hasGps(m.exif))
  t.ok(await gps(photo), 'the photo carries a GPS position')
  const ref = (await (await upload(ANN, photo)).json()) as MediaRef
  members.set('c_gps000001', new Set([ANN, BOB]))
  await share(ref, 'c_gps000001')
  await putVariant(ref.mediaId, 'display')
  const original = `${base}/v1/media/${ref.mediaId}/original`
  const bobs = await fetch(original, { headers: await auth(BOB) })
  t.equal(bobs.status, 404, 'a member cannot download the original')
  t.equal(await errorCode(bobs), 'MEDIA_NOT_FOUND')
  const ranged = await fetch(original, { headers: { ...(await auth(BOB)), range: 'bytes=0-99' } })
  t.equal(ranged.status, 404, 'nor a range of it')
  const display = await fetch(`${base}/v1/media/${ref.mediaId}/display`, { headers: await auth(BOB) })
  t.equal(display.status, 200, 'the rendition is theirs')
  t.notOk(await gps(Buffer.from(await display.arrayBuffer())), 'and carries no position')
  const anns = await fetch(original, { headers: await auth(ANN) })
  t.equal(anns.status, 200, 'the uploader keeps their original')
  t.same(Buffer.from(await anns.arrayBuffer()), photo, 'byte for byte')
})

t.test('a document, photos sent as files included, reaches members byte for byte', async (t) => {
  const photo = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#aa3311' } })
    .jpeg()
    .withExif({ IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '1/1 2/1 3/1' } })
    .toBuffer()
  const ref = (await (await upload(ANN, photo, { query: '?kind=document' })).json()) as MediaRef
  t.match(ref, { kind: 'document', mime: 'image/jpeg' })
  members.set('c_file00001', new Set([ANN, BOB]))
  await share(ref, 'c_file00001')
  const bobs = await fetch(`${base}/v1/media/${ref.mediaId}/original`, { headers: await auth(BOB) })
  t.equal(bobs.status, 200)
  t.equal(bobs.headers.get('content-disposition'), 'attachment', 'as an attachment, never inline')
  t.same(Buffer.from(await bobs.arrayBuffer()), photo, 'what the sender chose to send, unchanged')
})

t.test('serves byte ranges for seeking, and 416 outside the object', async (t) => {
  const ref = (await (await upload(ANN, jpeg)).json()) as MediaRef
  const path = `${base}/v1/media/${ref.mediaId}/original`
  const part = await fetch(path, { headers: { ...(await auth(ANN)), range: 'bytes=10-19' } })
  t.equal(part.status, 206)
  t.equal(part.headers.get('content-range'), `bytes 10-19/${jpeg.length}`)
  t.equal(part.headers.get('content-length'), '10')
  t.same(Buffer.from(await part.arrayBuffer()), jpeg.subarray(10, 20))
  const tail = await fetch(path, { headers: { ...(await auth(ANN)), range: 'bytes=-5' } })
  t.same(Buffer.from(await tail.arrayBuffer()), jpeg.subarray(-5))
  const out = await fetch(path, { headers: { ...(await auth(ANN)), range: `bytes=${jpeg.length}-` } })
  t.equal(out.status, 416)
  t.equal(out.headers.get('content-range'), `bytes */${jpeg.length}`)
  t.equal(await errorCode(out), 'RANGE_NOT_SATISFIABLE')
})

t.test('a one-byte range is one byte, and the next response on the connection is intact', async (t) => {
  const ref = (await (await upload(ANN, jpeg)).json()) as MediaRef
  const h = await auth(ANN)
  const c = await RawConnection.open(server.port)
  t.teardown(() => c.destroy())
  for (const [range, bytes] of [
    ['bytes=0-0', jpeg.subarray(0, 1)],
    ['bytes=5-5', jpeg.subarray(5, 6)],
    [`bytes=${jpeg.length - 1}-${jpeg.length - 1}`, jpeg.subarray(-1)],
  ] as const) {
    c.write(
      rawHead('GET', `/v1/media/${ref.mediaId}/original`, [
        ['authorization', h.authorization],
        ['range', range],
      ]),
    )
    const part = await c.next()
    t.equal(part?.status, 206, range)
    t.equal(part?.headers['content-length'], '1', range)
    t.same(part?.body, bytes, range)
    // On the same keep-alive connection: a surplus of the first answer would be read as this one.
    c.write(rawHead('GET', `/v1/media/${ref.mediaId}/original`, [['authorization', h.authorization]]))
    const whole = await c.next()
    t.equal(whole?.status, 200, `${range}: the next response starts with its own status line`)
    t.same(whole?.body, jpeg, `${range}: and carries its own bytes`)
  }
})

t.test('serves documents as attachments under their name', async (t) => {
  const r = await upload(ANN, pdf, { headers: { 'x-file-name': 'Q3 report.pdf' } })
  const ref = (await r.json()) as MediaRef
  t.match(ref, { kind: 'document', mime: 'application/pdf', name: 'Q3 report.pdf' })
  const dl = await fetch(`${base}/v1/media/${ref.mediaId}/original`, { headers: await auth(ANN) })
  t.equal(dl.status, 200)
  t.equal(
    dl.headers.get('content-disposition'),
    `attachment; filename="Q3 report.pdf"; filename*=UTF-8''Q3%20report.pdf`,
  )
  t.equal(dl.headers.get('content-type'), 'application/pdf')
  t.match(dl.headers.get('content-security-policy'), /sandbox/)
  t.same(Buffer.from(await dl.arrayBuffer()), pdf)
})
