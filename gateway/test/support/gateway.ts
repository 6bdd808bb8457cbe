import { DEFAULT_LIMITS, type GroupAdds } from '@chatapp/contracts'
import type { TestNamespace } from '@chatapp/infra'
import { createLogger, type NatsConnection } from '@chatapp/kit'
import {
  createTokenService,
  generatePrivateKeyPem,
  type TokenService,
} from '../../src/accounts/token-service.js'
import { defaultGatewayConfig, type GatewayConfig } from '../../src/config.js'
import { type Gateway, type GatewayDeps, startGateway, WS_PATH } from '../../src/gateway.js'
import type { UserDirectory } from '../../src/ports.js'

/**
 * Users the directory knows; tests register ids here (the accounts module owns the real one).
 * Everyone lets everyone add them to groups unless `groupAdds` says otherwise.
 */
export const memoryDirectory = (
  users: Set<string>,
  groupAdds: Map<string, GroupAdds> = new Map(),
): UserDirectory => ({
  existing: async (ids) => new Set(ids.filter((u) => users.has(u))),
  groupAdds: async (ids) =>
    new Map(ids.filter((u) => users.has(u)).map((u) => [u, groupAdds.get(u) ?? 'everyone'])),
})

export interface TestGateways {
  tokens: TokenService
  users: Set<string>
  /**
   * `deps.nc` replaces the namespace's connection (a gateway behind a faulty link); `deps.archive`
   * lets it read history the hot log no longer holds; `deps.registry` collects its metrics.
   */
  start(
    over?: Partial<GatewayConfig>,
    deps?: {
      nc?: NatsConnection
      mountHttp?: GatewayDeps['mountHttp']
      archive?: GatewayDeps['archive']
      registry?: GatewayDeps['registry']
    },
  ): Promise<Gateway & { url: string }>
  token(userId: string, deviceId?: string): Promise<string>
}

/** Gateways in this process over one test namespace, sharing a token key and user set. */
export const testGateways = async (
  tn: TestNamespace,
  pem = generatePrivateKeyPem(),
): Promise<TestGateways> => {
  const tokens = await createTokenService({ privateKeyPem: pem, ttlS: 600 })
  const users = new Set<string>()
  return {
    tokens,
    users,
    async start(over = {}, deps = {}) {
      const config = { ...defaultGatewayConfig(tn.ns, tn.names.shards), ...over }
      const gw = await startGateway(config, {
        nc: deps.nc ?? tn.nc,
        log: createLogger('gateway-test', process.env.TEST_LOG ?? 'silent'),
        tokens,
        directory: memoryDirectory(users),
        ...(deps.mountHttp ? { mountHttp: deps.mountHttp } : {}),
        ...(deps.archive ? { archive: deps.archive } : {}),
        ...(deps.registry ? { registry: deps.registry } : {}),
      })
      return Object.assign(gw, { url: `ws://127.0.0.1:${gw.port}${WS_PATH}` })
    },
    async token(userId, deviceId = 'dev1') {
      users.add(userId)
      return (await tokens.issue(userId, deviceId, `s_${userId}_${deviceId}`)).accessToken
    },
  }
}

/** Frame limits high enough that a test's bursts are never rate limited. */
export const UNTHROTTLED = {
  ...DEFAULT_LIMITS,
  connFramesPerSecond: 1_000,
  connBurst: 1_000,
  userFramesPerSecond: 1_000,
  userBurst: 1_000,
}

/** The command runner's limits in tests that drive it without a gateway. */
export const RUNNER_LIMITS = {
  maxTextLength: 100,
  maxCaptionLength: 100,
  maxGroupMembers: 10,
  editWindowMs: 60_000,
  deleteWindowMs: 60_000,
}
