import { names } from '@chatapp/contracts'
import {
  ConfigReader,
  connectNats,
  createLogger,
  natsUp,
  onShutdown,
  readCommon,
  startOpsServer,
} from '@chatapp/kit'
import pg from 'pg'

/** The only place that reads the environment and builds adapters. */
const c = new ConfigReader()
const common = readCommon(c)
const opsPort = c.int('PROJECTOR_OPS_PORT', 0, 65535)
c.done()

const log = createLogger('projector', common.logLevel)
const n = names(common.ns, common.shards)
const nc = await connectNats(common.natsUrl, 'projector', log)
const db = new pg.Pool({ connectionString: common.databaseUrl, max: 4 })

const ops = await startOpsServer({
  service: 'projector',
  host: common.opsHost,
  port: opsPort,
  log,
  checks: { nats: natsUp(nc), postgres: () => db.query('SELECT 1').then(() => true) },
})
log.info({ ns: common.ns, shards: n.shards }, 'projector started')

onShutdown(log, async () => {
  ops.setDraining()
  await nc.drain()
  await db.end()
  await ops.close()
})
