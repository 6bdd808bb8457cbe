// A gateway's upload, in a process of its own, that stops dead at one step: after the object is
// in S3 and before the media row is recorded (the test kills it there with SIGKILL).
// Run by test/media/upload-crash.test.ts with the built package (tsc -b): argv = JSON config.
import { Readable } from 'node:stream'
import { s3Client } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import { openGatewayDb } from '../../dist/db/gateway-db.js'
import { createMediaService, mediaRepo, uploadLedger } from '../../dist/media/mod.js'

const c = JSON.parse(process.argv[2])
const db = await openGatewayDb(c.databaseUrl, c.schema, createLogger('child', 'silent'), { migrate: false })
const ledger = uploadLedger(db.orm, { gateway: c.schema, views: c.views }, c.quota)
const stalling = {
  ...ledger,
  budget(userId, mediaId) {
    const b = ledger.budget(userId, mediaId)
    return {
      get reserved() {
        return b.reserved
      },
      ensure: (total, slab) => b.ensure(total, slab),
      release: () => b.release(),
      complete: () => {
        process.stdout.write(`stored ${mediaId}\n`)
        return new Promise(() => {})
      },
    }
  },
}
const media = createMediaService({
  repo: mediaRepo(db.orm, c.views),
  ledger: stalling,
  s3: s3Client(c.s3),
  names: { s3Bucket: c.bucket },
  membership: { joinedAt: async () => undefined },
  limits: { image: 1e7, video: 1e7, audio: 1e7, document: 1e7 },
})
await media.upload({
  userId: c.userId,
  body: Readable.from([Buffer.from(c.bytes, 'base64')]),
  requestedKind: undefined,
  fileName: undefined,
})
