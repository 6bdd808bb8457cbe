import { S3Client } from '@aws-sdk/client-s3'
import { names } from '@chatapp/contracts'
import {
  ConfigReader,
  connectNats,
  createLogger,
  jetstreamManager,
  natsConnectionMetrics,
  natsUp,
  onShutdown,
  readCommon,
  readS3,
  startOpsServer,
} from '@chatapp/kit'
import { jetstream } from '@nats-io/jetstream'
import { createAvTools } from './av.js'
import { configureSharp } from './image.js'
import { workerMetrics } from './metrics.js'
import { DEFAULT_PLAN_CONFIG } from './plan.js'
import { s3MediaStore } from './store.js'
import { ensureConsumer, queueDepth, startWorker } from './worker.js'

/** The only place that reads the environment and builds adapters. */
const c = new ConfigReader()
const common = readCommon(c)
const s3cfg = readS3(c)
const opsPort = c.int('MEDIA_WORKER_OPS_PORT', 0, 65535)
const concurrency = c.int('MEDIA_CONCURRENCY', 1, 64)
const maxAttempts = c.int('MEDIA_MAX_ATTEMPTS', 1, 20)
const videoMaxHeight = c.int('MEDIA_VIDEO_MAX_HEIGHT', 144, 2160)
const ffmpeg = c.str('FFMPEG_PATH')
c.done()

/** A lease long enough for a pull round trip; long jobs renew it every third of it. */
const ACK_WAIT_MS = 30_000
/** Per ffmpeg run: a 16 MB upload transcodes in seconds; minutes mean a hostile or broken input. */
const FFMPEG_TIMEOUT_MS = 5 * 60_000
const FFMPEG_MEMORY_BYTES = 2 * 1024 * 1024 * 1024
/** Originals above the largest upload limit are not ours (the gateway refuses them). */
const MAX_ORIGINAL_BYTES = 200 * 1024 * 1024

const log = createLogger('media-worker', common.logLevel)
// One libvips thread per pipeline: a photo's variants already run as parallel pipelines (ADR 0181).
configureSharp({ threadsPerPipeline: 1 })
const n = names(common.ns, common.shards)
const nc = await connectNats(common.natsUrl, 'media-worker', log)
const jsm = await jetstreamManager(nc)
const js = jetstream(nc)
const s3 = new S3Client({
  endpoint: s3cfg.endpoint,
  region: s3cfg.region,
  forcePathStyle: s3cfg.forcePathStyle,
  credentials: { accessKeyId: s3cfg.accessKeyId, secretAccessKey: s3cfg.secretAccessKey },
})
const store = s3MediaStore(s3, n.s3Bucket)
const av = await createAvTools({
  ffmpeg,
  timeoutMs: FFMPEG_TIMEOUT_MS,
  memoryBytes: FFMPEG_MEMORY_BYTES,
  threads: 2,
})
if (!av.launchers.config.prlimit)
  log.warn('no prlimit (util-linux) on this system: ffmpeg runs have a time bound but no memory bound')

const ops = await startOpsServer({
  service: 'media-worker',
  host: common.opsHost,
  port: opsPort,
  log,
  checks: { nats: natsUp(nc), s3: store.ping },
})
const metrics = workerMetrics(ops.registry, queueDepth(jsm, n))
natsConnectionMetrics(nc, ops.registry)

await ensureConsumer(jsm, n, ACK_WAIT_MS)
const worker = await startWorker({
  js,
  jsm,
  names: n,
  concurrency,
  maxAttempts,
  ackWaitMs: ACK_WAIT_MS,
  metrics,
  log,
  deps: {
    store,
    config: { ...DEFAULT_PLAN_CONFIG, videoMaxHeight },
    maxOriginalBytes: MAX_ORIGINAL_BYTES,
    av,
  },
})
log.info({ ns: common.ns, concurrency, maxAttempts, videoMaxHeight }, 'media-worker started')

onShutdown(log, async () => {
  ops.setDraining()
  await worker.stop()
  await nc.drain()
  await av.close()
  s3.destroy()
  await ops.close()
})
