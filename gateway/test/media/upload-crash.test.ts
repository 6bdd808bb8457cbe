import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { mediaKeys } from '@chatapp/contracts'
import { createTestNamespace, s3Client } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import pg from 'pg'
import sharp from 'sharp'
import t from 'tap'
import { openGatewayDb } from '../../src/db/gateway-db.js'
import { uploadLedger } from '../../src/media/upload-ledger.js'
import { PENDING_MAX_AGE_MS, sweepUploads } from '../../src/media/upload-sweeper.js'

// The child runs the built package (`tsc -b`), as the gateway does.
const child = fileURLToPath(new URL('../support/upload-crash-child.mjs', import.meta.url))

t.test(
  'a gateway killed between storing an upload and recording it leaves nothing after the sweep',
  async (t) => {
    const tn = await createTestNamespace({ shards: 1 })
    t.teardown(tn.cleanup)
    const schema = tn.names.dbSchemas.gateway
    const db = await openGatewayDb(tn.stack.databaseUrl, schema, createLogger('test', 'silent'))
    t.teardown(() => db.close())
    const s3 = s3Client(tn.stack.s3)
    t.teardown(() => s3.destroy())
    const pool = new pg.Pool({ connectionString: tn.stack.databaseUrl, max: 1 })
    t.teardown(() => pool.end())
    const quota = { dailyBytes: 1e9, unattachedBytes: 1e9, unattachedTtlMs: 24 * 3600_000 }
    const schemas = tn.names.dbSchemas
    const jpeg = await sharp({ create: { width: 32, height: 24, channels: 3, background: '#446688' } })
      .jpeg()
      .toBuffer()
    const userId = 'u_crashed001'

    const proc = spawn(
      process.execPath,
      [
        child,
        JSON.stringify({
          databaseUrl: tn.stack.databaseUrl,
          schema,
          views: schemas.views,
          s3: tn.stack.s3,
          bucket: tn.names.s3Bucket,
          quota,
          userId,
          bytes: jpeg.toString('base64'),
        }),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    t.teardown(() => proc.kill('SIGKILL'))
    const mediaId = await new Promise<string>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`the child never stored its upload: ${out}`)), 30_000)
      proc.stdout.on('data', (d) => {
        out += d
        const m = /stored (\S+)\n/.exec(out)
        if (m) {
          clearTimeout(timer)
          resolve(m[1]!)
        }
      })
      proc.on('exit', (code) => reject(new Error(`the child exited with ${code}: ${out}`)))
    })
    proc.kill('SIGKILL')
    await new Promise((r) => proc.once('exit', r))

    const key = mediaKeys.original(mediaId)
    const exists = () =>
      s3.send(new HeadObjectCommand({ Bucket: tn.names.s3Bucket, Key: key })).then(
        () => true,
        () => false,
      )
    const count = async (sql: string) => (await pool.query(sql, [mediaId])).rows.length
    t.ok(await exists(), 'the object was stored before the kill')
    t.equal(await count(`SELECT 1 FROM "${schema}".media WHERE id = $1`), 0, 'no media row')
    t.equal(
      await count(`SELECT 1 FROM "${schema}".upload_pending WHERE media_id = $1`),
      1,
      'its reservation remains',
    )
    const held = (await uploadLedger(db.orm, schemas, quota).usage(userId)).unattachedBytes
    t.ok(held >= jpeg.length, `and counts against the quota meanwhile (${held} bytes reserved)`)

    const sweep = (now: number) =>
      sweepUploads({
        orm: db.orm,
        schema,
        viewsSchema: schemas.views,
        logHeads: async () => [0],
        s3,
        bucket: tn.names.s3Bucket,
        unattachedTtlMs: quota.unattachedTtlMs,
        now: () => now,
      })
    t.same((await sweep(Date.now())).abandoned, [], 'an upload may still be in progress: not yet')
    t.same(
      (await sweep(Date.now() + PENDING_MAX_AGE_MS + 60_000)).abandoned,
      [mediaId],
      'ended once it is too old',
    )
    t.notOk(await exists(), 'the orphan object is deleted')
    t.equal(
      await count(`SELECT 1 FROM "${schema}".upload_pending WHERE media_id = $1`),
      0,
      'the reservation is gone',
    )
    t.match(await uploadLedger(db.orm, schemas, quota).usage(userId), { unattachedBytes: 0 })
  },
)
