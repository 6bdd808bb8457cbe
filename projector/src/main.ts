import { names } from '@chatapp/contracts'
import {
  ConfigReader,
  connectNats,
  createLogger,
  disableAsyncContextWhenIdle,
  natsConnectionMetrics,
  natsUp,
  onShutdown,
  readCommon,
  readS3,
  s3ArchiveStore,
  s3ClientOf,
  startOpsServer,
} from '@chatapp/kit'
import { readArchiveConfig } from './archive/archive-config.js'
import { type RunningArchivers, startArchivers } from './archive/archivers.js'
import { openPool } from './db.js'
import { startProjector } from './projector.js'

/** The only place that reads the environment and builds adapters. */
// Between batches nothing here needs a MikroORM context: hooks only while one runs (ADR 0177).
disableAsyncContextWhenIdle()

const c = new ConfigReader()
const common = readCommon(c)
const opsPort = c.int('PROJECTOR_OPS_PORT', 0, 65535)
const batch = c.int('PROJECTOR_BATCH', 1, 10_000)
const lingerMs = c.int('PROJECTOR_LINGER_MS', 0, 1000)
const outboxDrainMs = c.int('PROJECTOR_OUTBOX_DRAIN_MS', 100, 600_000)
const pushJobs = c.bool('PROJECTOR_PUSH_JOBS')
const archive = readArchiveConfig(c)
const s3 = archive.enabled ? readS3(c) : undefined
c.done()

const log = createLogger('projector', common.logLevel)
const n = names(common.ns, common.shards)
const nc = await connectNats(common.natsUrl, 'projector', log)
// One connection per shard applying, plus one for readiness, two for the effect relays and one
// for the archivers' offset reads.
const pool = openPool(common.databaseUrl, Math.min(n.shards, 16) + 4, log)

const ops = await startOpsServer({
  service: 'projector',
  host: common.opsHost,
  port: opsPort,
  log,
  checks: { nats: natsUp(nc), postgres: () => pool.query('SELECT 1').then(() => true) },
})
natsConnectionMetrics(nc, ops.registry)
const projector = await startProjector({
  nc,
  pool,
  databaseUrl: common.databaseUrl,
  names: n,
  batch,
  lingerMs,
  outboxDrainMs,
  pushJobs,
  log,
  registry: ops.registry,
})
// The archivers live in the projector's process (ADR 0200): every deployment that projects also
// archives, each shard under its own lease, so any number of projector processes is safe.
const s3client = s3 ? s3ClientOf(s3) : undefined
let archivers: Promise<RunningArchivers | undefined> = Promise.resolve(undefined)
let stopping = false
// Registered before the archivers start (S3 round trips): a SIGTERM meanwhile waits for that start
// to end before closing the connections it uses (closing them under it failed the start, and the
// process exited 1 instead of 0).
onShutdown(log, async () => {
  stopping = true
  ops.setDraining()
  await (await archivers.catch(() => undefined))?.stop()
  await projector.stop()
  await nc.drain()
  await pool.end()
  s3client?.destroy()
  await ops.close()
})
if (s3client) {
  archivers = startArchivers({
    nc,
    pool,
    databaseUrl: common.databaseUrl,
    names: n,
    store: s3ArchiveStore(s3client, n.archiveBucket),
    limits: archive.limits,
    hot: archive.hot,
    pollMs: archive.pollMs,
    log,
    registry: ops.registry,
  })
  // A start that failed because a shutdown closed its connections is the shutdown's, not an error.
  await archivers.catch((err: unknown) => {
    if (!stopping) throw err
  })
}
log.info({ ns: common.ns, shards: n.shards, archiving: archive.enabled }, 'projector started')
