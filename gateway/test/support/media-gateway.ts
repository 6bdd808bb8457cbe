import { s3Client, type TestNamespace } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import type { Test } from 'tap'
import { defaultGatewayConfig } from '../../src/config.js'
import { openGatewayDb } from '../../src/db/gateway-db.js'
import { startGateway } from '../../src/gateway.js'
import { mediaRepo } from '../../src/media/media-repo.js'
import { createMediaService, type MediaService } from '../../src/media/media-service.js'
import { mediaRoutes } from '../../src/media/routes.js'
import { uploadLedger } from '../../src/media/upload-ledger.js'
import { DEFAULT_UPLOAD_QUOTA } from '../../src/media/upload-quota.js'
import { mountHttp } from '../../src/transport/http/uws-http.js'
import { memoryDirectory, type TestGateways } from './gateway.js'

/**
 * A gateway with its media module (uploads to the namespace's S3, records in its database) and
 * the media HTTP routes, closed when the test ends. `limits`: upload sizes per kind.
 */
export const gatewayWithMedia = async (
  t: Test,
  tn: TestNamespace,
  gws: TestGateways,
  limits = { image: 2_000_000, video: 4_000_000, audio: 2_000_000, document: 2_000_000 },
) => {
  const log = createLogger('test', process.env.TEST_LOG ?? 'silent')
  const db = await openGatewayDb(tn.stack.databaseUrl, tn.names.dbSchemas.gateway, log)
  t.teardown(() => db.close())
  const s3 = s3Client(tn.stack.s3)
  t.teardown(() => s3.destroy())
  let media: MediaService | undefined
  const gw = await startGateway(defaultGatewayConfig(tn.ns, tn.names.shards), {
    nc: tn.nc,
    log,
    tokens: gws.tokens,
    directory: memoryDirectory(gws.users),
    media: (ctx) => {
      media = createMediaService({
        repo: mediaRepo(db.orm, tn.names.dbSchemas.views),
        ledger: uploadLedger(db.orm, tn.names.dbSchemas, DEFAULT_UPLOAD_QUOTA),
        s3,
        names: tn.names,
        membership: ctx.membership,
        limits,
      })
      return media
    },
    mountHttp: (app) =>
      mountHttp(app, mediaRoutes({ media: media!, maxUploadBytes: Math.max(...Object.values(limits)) }), {
        tokens: gws.tokens,
        log,
      }),
  })
  t.teardown(() => gw.close())
  return {
    gw,
    media: media!,
    s3,
    http: `http://127.0.0.1:${gw.port}`,
    ws: `ws://127.0.0.1:${gw.port}/v1/ws`,
  }
}
