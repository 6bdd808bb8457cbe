import { names } from '@chatapp/contracts'
import {
  ConfigReader,
  connectNats,
  createLogger,
  natsConnectionMetrics,
  natsUp,
  onShutdown,
  readCommon,
  startOpsServer,
} from '@chatapp/kit'
import { openPool } from './db.js'
import { startProjector } from './projector.js'

/** The only place that reads the environment and builds adapters. */
const c = new ConfigReader()
const common = readCommon(c)
const opsPort = c.int('PROJECTOR_OPS_PORT', 0, 65535)
const batch = c.int('PROJECTOR_BATCH', 1, 10_000)
const lingerMs = c.int('PROJECTOR_LINGER_MS', 0, 1000)
const outboxDrainMs = c.int('PROJECTOR_OUTBOX_DRAIN_MS', 100, 600_000)
const pushJobs = c.bool('PROJECTOR_PUSH_JOBS')
c.done()

const log = createLogger('projector', common.logLevel)
const n = names(common.ns, common.shards)
const nc = await connectNats(common.natsUrl, 'projector', log)
// One connection per shard applying, plus one for readiness and two for the effect relays.
const pool = openPool(common.databaseUrl, Math.min(n.shards, 16) + 3)

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
log.info({ ns: common.ns, shards: n.shards }, 'projector started')

onShutdown(log, async () => {
  ops.setDraining()
  await projector.stop()
  await nc.drain()
  await pool.end()
  await ops.close()
})
