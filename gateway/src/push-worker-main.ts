import { names } from '@chatapp/contracts'
import {
  ConfigReader,
  connectNats,
  createConversationLog,
  createLogger,
  disableAsyncContextWhenIdle,
  jetstreamManager,
  logIdlePoolErrors,
  natsConnectionMetrics,
  natsUp,
  onShutdown,
  readCommon,
  startOpsServer,
} from '@chatapp/kit'
import { jetstream } from '@nats-io/jetstream'
import pg from 'pg'
import { createPresenceReader } from './feed/presence-query.js'
import { readPushConfig, readPushWorkerConfig } from './push/config.js'
import { conversationMutes } from './push/mutes.js'
import { pushTargets } from './push/push-targets.js'
import { loadOrCreateVapidKeys } from './push/vapid.js'
import { pushMetrics } from './push/worker/push-metrics.js'
import { ensurePushConsumer, startPushWorker } from './push/worker/push-worker.js'
import { pgUserFacts } from './push/worker/user-facts.js'
import { webPushTransport } from './push/worker/web-push-transport.js'
import { webhookTransport } from './push/worker/webhook-transport.js'

/**
 * The push worker (ADR 0190): its own process, from the gateway's package because the tables it
 * reads (push targets, mutes, accounts) are the gateway's schema. The only place that reads the
 * environment and builds adapters.
 */
// Between jobs nothing here needs a MikroORM context: hooks only while one runs (ADR 0177).
disableAsyncContextWhenIdle()

const c = new ConfigReader()
const common = readCommon(c)
const pushCfg = readPushConfig(c)
const cfg = readPushWorkerConfig(c)
c.done()

/** Marks (what each target was told) outlive any redelivery of a burst by far. */
const MARK_RETENTION_MS = 7 * 86_400_000

const log = createLogger('push-worker', common.logLevel)
const n = names(common.ns, common.shards)
const nc = await connectNats(common.natsUrl, 'push-worker', log)
const jsm = await jetstreamManager(nc)
const db = logIdlePoolErrors(
  new pg.Pool({ connectionString: common.databaseUrl, max: 10 }),
  log,
  'push-worker',
)
const vapid = await loadOrCreateVapidKeys(pushCfg.vapidKeyFile, pushCfg.vapidSubject)
const { ranges } = await createConversationLog(nc, n)
const presence = createPresenceReader(nc, n, ranges, log)

const ops = await startOpsServer({
  service: 'push-worker',
  host: common.opsHost,
  port: cfg.opsPort,
  log,
  checks: {
    nats: natsUp(nc),
    postgres: () => db.query('SELECT 1').then(() => true),
  },
})
natsConnectionMetrics(nc, ops.registry)
const metrics = pushMetrics(
  ops.registry,
  async () => (await jsm.consumers.info(n.pushJobStream, n.pushWorkerConsumer)).num_pending,
)

const targets = pushTargets(db, n.dbSchemas.gateway)
const mutes = conversationMutes(db, n.dbSchemas.gateway)
await ensurePushConsumer(jsm, n, cfg.ackWaitMs)
const worker = await startPushWorker({
  js: jetstream(nc),
  names: n,
  log,
  metrics,
  targets,
  mutes,
  users: pgUserFacts(db, n.dbSchemas.gateway),
  // One query to the gateways per batch of users (ADR 0174): a 1,000-member group's burst is one
  // request, not 1,000 reads.
  online: presence.devicesOnline,
  transports: {
    webpush: webPushTransport({ vapid, ttlS: cfg.ttlS, timeoutMs: cfg.timeoutMs }),
    webhook: webhookTransport({ timeoutMs: cfg.timeoutMs }),
  },
  coalesceMs: cfg.coalesceMs,
  ackWaitMs: cfg.ackWaitMs,
  retry: cfg.retry,
  maxFailures: cfg.maxFailures,
  concurrency: cfg.concurrency,
  operatorContent: cfg.content,
})
log.info({ ns: common.ns, content: cfg.content }, 'push worker started')

// Dead targets are kept a while for operators (`chatapp-ops push-targets --dead`); old marks and
// ended mutes go.
const purge = setInterval(() => {
  const t = Date.now()
  Promise.all([
    targets.purgeDead(t - cfg.deadRetentionMs),
    targets.purgeMarks(t - MARK_RETENTION_MS),
    mutes.purgeEnded(t),
  ])
    .then(([dead, marks, ended]) => log.info({ dead, marks, ended }, 'push housekeeping'))
    .catch((err: unknown) => log.warn({ err }, 'push housekeeping failed'))
}, 3_600_000)
purge.unref()

onShutdown(log, async () => {
  clearInterval(purge)
  ops.setDraining()
  await worker.stop()
  await nc.drain()
  await db.end()
  await ops.close()
})
