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

/** The only place that reads the environment and builds adapters. */
const c = new ConfigReader()
const common = readCommon(c)
const s3cfg = readS3(c)
const opsPort = c.int('MEDIA_WORKER_OPS_PORT', 0, 65535)
c.done()

const log = createLogger('media-worker', common.logLevel)
const n = names(common.ns, common.shards)
const nc = await connectNats(common.natsUrl, 'media-worker', log)
const s3 = new S3Client({
  endpoint: s3cfg.endpoint,
  region: s3cfg.region,
  forcePathStyle: s3cfg.forcePathStyle,
  credentials: { accessKeyId: s3cfg.accessKeyId, secretAccessKey: s3cfg.secretAccessKey },
})

const ops = await startOpsServer({
  service: 'media-worker',
  host: common.opsHost,
  port: opsPort,
  log,
  checks: {
    nats: natsUp(nc),
    s3: () => s3.send(new HeadBucketCommand({ Bucket: n.s3Bucket })).then(() => true),
  },
})
log.info({ ns: common.ns }, 'media-worker started')

onShutdown(log, async () => {
  ops.setDraining()
  await nc.drain()
  s3.destroy()
  await ops.close()
})
