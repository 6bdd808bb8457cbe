import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { names } from '@chatapp/contracts'
import {
  ConfigReader,
  connectNats,
  createArchiveReader,
  createLogger,
  disableAsyncContextWhenIdle,
  logIdlePoolErrors,
  natsConnectionMetrics,
  natsUp,
  onShutdown,
  readCommon,
  readS3,
  s3ArchiveStore,
  startOpsServer,
} from '@chatapp/kit'
import { jetstreamManager } from '@nats-io/jetstream'
import pg from 'pg'
import { createAccountService } from './accounts/account-service.js'
import { readAccountsConfig } from './accounts/config.js'
import { createPasswordHasher } from './accounts/password-hasher.js'
import { createSessionRevocations } from './accounts/session-revocations.js'
import { createTokenService, loadOrCreateKeyFile } from './accounts/token-service.js'
import { pgArchiveHeads } from './archive/archive-heads.js'
import { readGatewayConfig } from './config.js'
import { openGatewayDb } from './db/gateway-db.js'
import { startGateway } from './gateway.js'
import { gatewayRoutes } from './http-routes.js'
import { createPendingInvitations } from './invitations/pending-invitations.js'
import {
  createMediaService,
  type MediaService,
  mediaRepo,
  startUploadSweeper,
  uploadLedger,
} from './media/mod.js'
import { readPushConfig } from './push/config.js'
import { conversationMutes } from './push/mutes.js'
import { pushTargets } from './push/push-targets.js'
import { loadOrCreateVapidKeys } from './push/vapid.js'
import { readHttpConfig } from './transport/http/config.js'
import { mountHttp } from './transport/http/uws-http.js'
import { pgViewReads } from './views/view-reads.js'
import { loadStaticSite } from './web/static-site.js'

// Before anything runs a MikroORM context: this process's hot path touches no database (ADR 0177).
disableAsyncContextWhenIdle()

/** The only place that reads the environment and builds adapters. */
const c = new ConfigReader()
const common = readCommon(c)
const s3cfg = readS3(c)
const config = readGatewayConfig(c, common.ns, common.shards)
const accountsCfg = readAccountsConfig(c)
const httpCfg = readHttpConfig(c)
const pushCfg = readPushConfig(c)
const opsPort = c.int('GATEWAY_OPS_PORT', 0, 65535)
const uploadLimits = {
  image: c.int('UPLOAD_LIMIT_IMAGE', 1, 2 ** 40),
  video: c.int('UPLOAD_LIMIT_VIDEO', 1, 2 ** 40),
  audio: c.int('UPLOAD_LIMIT_AUDIO', 1, 2 ** 40),
  document: c.int('UPLOAD_LIMIT_DOCUMENT', 1, 2 ** 40),
}
const uploadQuota = {
  dailyBytes: c.int('UPLOAD_QUOTA_DAILY_BYTES', 1, 2 ** 50),
  unattachedBytes: c.int('UPLOAD_QUOTA_UNATTACHED_BYTES', 1, 2 ** 50),
  // At least an hour: a send needs ATTACH_MARGIN_MS before expiry to attach an upload safely.
  unattachedTtlMs: c.int('UPLOAD_UNATTACHED_TTL_S', 3600, 365 * 86_400) * 1000,
}
const sweepIntervalMs = c.int('UPLOAD_SWEEP_INTERVAL_S', 1, 86_400) * 1000
// A relative WEB_ROOT is the checkout's (where `make build` puts the web app), whatever the cwd.
const webRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)), c.str('WEB_ROOT'))
const webCookieSecure = c.bool('WEB_COOKIE_SECURE')
c.done()

const log = createLogger('gateway', common.logLevel)
const site = await loadStaticSite(webRoot)
if (site) log.info({ webRoot, files: site.files.size }, 'serving the web app at /')
if (site?.compressedAtStart.length)
  log.warn(
    { webRoot, files: site.compressedAtStart },
    'the web build has no precompressed copies of these files: compressed at start at a lower quality (run `make build`)',
  )
else log.warn({ webRoot }, 'no web app built: / answers 404 (run `make build`)')
const n = names(common.ns, common.shards)
const nc = await connectNats(common.natsUrl, 'gateway', log)
const views = logIdlePoolErrors(new pg.Pool({ connectionString: common.databaseUrl, max: 10 }), log, 'views')
const db = await openGatewayDb(common.databaseUrl, n.dbSchemas.gateway, log)
const s3 = new S3Client({
  endpoint: s3cfg.endpoint,
  region: s3cfg.region,
  forcePathStyle: s3cfg.forcePathStyle,
  credentials: { accessKeyId: s3cfg.accessKeyId, secretAccessKey: s3cfg.secretAccessKey },
})

// Ready only once the gateway listens and its routes (and their metrics) exist: the ops port opens
// first, and a load balancer or test that trusted /readyz then found no WebSocket port yet.
let serving = false
const ops = await startOpsServer({
  service: 'gateway',
  host: common.opsHost,
  port: opsPort,
  log,
  checks: {
    serving: () => serving,
    nats: natsUp(nc),
    postgres: () => db.ping(),
    s3: () => s3.send(new HeadBucketCommand({ Bucket: n.s3Bucket })).then(() => true),
  },
})
natsConnectionMetrics(nc, ops.registry)

// Logouts are broadcast to every gateway: tokens of revoked sessions stop verifying at once, and
// their open sockets are closed with 4403. Kept at least as long as an access token lives.
const revocations = createSessionRevocations({
  nc,
  subject: n.revokedSessionsSubject,
  retainMs: (accountsCfg.accessTokenTtlS + 60) * 1000,
})
const tokens = await createTokenService({
  privateKeyPem: await loadOrCreateKeyFile(accountsCfg.jwtPrivateKeyFile),
  ttlS: accountsCfg.accessTokenTtlS,
  isRevoked: revocations.isRevoked,
})
const accounts = createAccountService({
  orm: db.orm,
  tokens,
  hasher: await createPasswordHasher(),
  refreshTtlS: accountsCfg.refreshTokenTtlS,
  log,
  onSessionsRevoked: revocations.revoked,
  loginThrottle: accountsCfg.loginThrottle,
  groupCreation: accountsCfg.groupCreation,
})
// Long-expired refresh tokens, sessions left without any and idle per-account limit rows (which
// guessing at unknown usernames creates): every instance purges hourly; the purge is idempotent.
const purge = setInterval(() => {
  accounts
    .purgeExpired()
    .then((r) => log.info(r, 'accounts purged'))
    .catch((err: unknown) => log.warn({ err }, 'accounts purge failed'))
}, 3_600_000)
purge.unref()
const reads = pgViewReads(views, n.dbSchemas.views)
// The pool of the views reads serves the push tables too: every query names its schema.
const vapid = await loadOrCreateVapidKeys(pushCfg.vapidKeyFile, pushCfg.vapidSubject)
// History older than the hot log is read from the archive the projector's archivers write.
const archive = {
  reader: createArchiveReader(s3ArchiveStore(s3, n.archiveBucket), { cacheSegments: 32 }),
  heads: pgArchiveHeads(views, n.dbSchemas.archive),
}
let media: MediaService | undefined

const gateway = await startGateway(config, {
  nc,
  log,
  tokens,
  directory: accounts,
  groupQuota: accounts,
  registry: ops.registry,
  sentLookup: reads,
  revocations,
  archive,
  media: (ctx) => {
    media = createMediaService({
      repo: mediaRepo(db.orm, n.dbSchemas.views),
      ledger: uploadLedger(db.orm, n.dbSchemas, uploadQuota),
      s3,
      names: n,
      membership: ctx.membership,
      limits: uploadLimits,
    })
    return media
  },
  mountHttp: (app, ctx) =>
    mountHttp(
      app,
      gatewayRoutes({
        accounts,
        views: { reads, membership: ctx.membership },
        members: { store: ctx.store, profiles: (ids) => accounts.profiles(ids) },
        webCookieSecure,
        ...(site ? { site } : {}),
        invitations: createPendingInvitations({
          log: ctx.conversationLog,
          names: ctx.names,
          store: ctx.store,
        }),
        // deps.media above has run by now: startGateway builds the context before mounting HTTP.
        ...(media ? { media: { media, maxUploadBytes: Math.max(...Object.values(uploadLimits)) } } : {}),
        push: {
          targets: pushTargets(views, n.dbSchemas.gateway),
          mutes: conversationMutes(views, n.dbSchemas.gateway),
          vapidPublicKey: vapid.publicKey,
          policy: pushCfg.policy,
          maxTargetsPerUser: pushCfg.maxTargetsPerUser,
          membership: ctx.membership,
          muteChanged: (signal) => nc.publish(n.muteSubject(signal.userId), JSON.stringify(signal)),
        },
      }),
      {
        tokens,
        log,
        registry: ops.registry,
        rateLimits: httpCfg.rateLimits,
        trustedProxyHops: httpCfg.trustedProxyHops,
      },
    ),
})
serving = true
log.info({ port: gateway.port, ns: common.ns }, 'gateway started')

// Unattached uploads expire; every gateway runs the sweeper, one at a time sweeps (advisory lock).
const jsm = await jetstreamManager(nc)
const sweeper = startUploadSweeper({
  orm: db.orm,
  schema: n.dbSchemas.gateway,
  viewsSchema: n.dbSchemas.views,
  logHeads: () =>
    Promise.all(
      Array.from(
        { length: n.shards },
        async (_, s) => (await jsm.streams.info(n.convStream(s))).state.last_seq,
      ),
    ),
  s3,
  bucket: n.s3Bucket,
  unattachedTtlMs: uploadQuota.unattachedTtlMs,
  intervalMs: sweepIntervalMs,
  log,
})

onShutdown(log, async () => {
  clearInterval(purge)
  ops.setDraining()
  await gateway.close()
  await sweeper.stop()
  revocations.close()
  await nc.drain()
  await db.close()
  await views.end()
  s3.destroy()
  await ops.close()
})
