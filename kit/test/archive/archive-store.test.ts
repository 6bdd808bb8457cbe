import { randomBytes } from 'node:crypto'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3'
import type { ArchiveCheckpoint } from '@chatapp/contracts'
import t from 'tap'
import { BODY_READ_ATTEMPTS, s3ArchiveStore } from '../../src/archive/archive-store.js'
import { ConfigReader, readS3 } from '../../src/config.js'
import { s3ClientOf } from '../../src/s3.js'

/**
 * The S3 archive store against the real S3 endpoint, through an HTTP proxy that can cut a GET's
 * response mid-body: the headers (with the full Content-Length) and half the body pass, then the
 * connection is closed. That is what s3rver's in-place rewrite does to a read racing a write
 * (its keep-alive timeout closes the connection 5 s later), and what a dropped connection does.
 */
const s3cfg = readS3(new ConfigReader())
const direct = s3ClientOf(s3cfg)
t.teardown(() => direct.destroy())
const upstream = new URL(s3cfg.endpoint)
let cutsLeft = 0
let gets = 0
const proxy = createServer((req, res) => {
  const cut = req.method === 'GET' && !req.url?.includes('list-type') && cutsLeft > 0
  if (req.method === 'GET') gets++
  if (cut) cutsLeft--
  const up = request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
    (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers)
      if (!cut) return void ur.pipe(res)
      const chunks: Buffer[] = []
      ur.on('data', (c: Buffer) => chunks.push(c))
      ur.on('end', () => {
        const all = Buffer.concat(chunks)
        res.write(all.subarray(0, all.length >> 1), () => res.socket?.destroy())
      })
    },
  )
  up.on('error', () => res.destroy())
  req.pipe(up)
})
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise<void>((resolve) => proxy.close(() => resolve())))
const viaProxy = s3ClientOf({
  ...s3cfg,
  endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
})
t.teardown(() => viaProxy.destroy())

const Bucket = `t-archive-store-${randomBytes(4).toString('hex')}`
await direct.send(new CreateBucketCommand({ Bucket }))
t.teardown(async () => {
  const list = await direct.send(new ListObjectsV2Command({ Bucket }))
  const keys = (list.Contents ?? []).map((o) => ({ Key: o.Key! }))
  if (keys.length > 0) await direct.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys } }))
  await direct.send(new DeleteBucketCommand({ Bucket }))
})
const cp: ArchiveCheckpoint = {
  v: 1,
  shard: 0,
  archivedTo: 70,
  archivedFrom: 1,
  segments: 10,
  events: 70,
  bytes: 7000,
  lastAt: 1_700_000_000_000,
  updatedAt: 1_700_000_000_000,
}
await s3ArchiveStore(direct, Bucket).writeCheckpoint(cp)
const store = s3ArchiveStore(viaProxy, Bucket)

t.test('a read whose connection is lost mid-body is made again', async (t) => {
  cutsLeft = 1
  gets = 0
  t.same(await store.checkpoint(0), cp)
  t.equal(gets, 2, 'the cut read, then one more')
})

t.test('a connection lost on every read fails after a bounded number of reads', async (t) => {
  cutsLeft = 100
  gets = 0
  await t.rejects(store.checkpoint(0), { code: 'ECONNRESET' })
  t.equal(gets, BODY_READ_ATTEMPTS)
  cutsLeft = 0
})
