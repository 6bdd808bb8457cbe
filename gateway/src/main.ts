import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { names } from '@chatapp/contracts'
import {
  ConfigReader,
  connectNats,
  createLogger,
  natsUp,
  onShutdown,
  readCommon,
  readS3,
  startOpsServer,
} from '@chatapp/kit'
import pg from 'pg'

/** The only place that reads the environment and builds adapters. */
const c = new ConfigReader()
const common = readCommon(c)
const s3cfg = readS3(c)
const port = c.int('GATEWAY_PORT', 0, 65535)
const opsPort = c.int('GATEWAY_OPS_PORT', 0, 65535)
c.done()

const log = createLogger('gateway', common.logLevel)
const n = names(common.ns, common.shards)
const nc = await connectNats(common.natsUrl, 'gateway', log)
const db = new pg.Pool({ connectionString: common.databaseUrl, max: 10 })
const s3 = new S3Client({
  endpoint: s3cfg.endpoint,
  region: s3cfg.region,
  forcePathStyle: s3cfg.forcePathStyle,
  credentials: { accessKeyId: s3cfg.accessKeyId, secretAccessKey: s3cfg.secretAccessKey },
})

const ops = await startOpsServer({
  service: 'gateway',
  host: common.opsHost,
  port: opsPort,
  log,
  checks: {
    nats: natsUp(nc),
    postgres: () => db.query('SELECT 1').then(() => true),
    s3: () => s3.send(new HeadBucketCommand({ Bucket: n.s3Bucket })).then(() => true),
  },
})
log.info({ port, ns: common.ns }, 'gateway started')

onShutdown(log, async () => {
  ops.setDraining()
  await nc.drain()
  await db.end()
  s3.destroy()
  await ops.close()
})
