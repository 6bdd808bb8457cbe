/** @chatapp/gateway: start a gateway in-process (tests, tools); `main.ts` is the process entry. */
export { defaultGatewayConfig, type GatewayConfig, readGatewayConfig } from './config.js'
export { type Gateway, type GatewayContext, type GatewayDeps, startGateway, WS_PATH } from './gateway.js'
export type {
  MediaPort,
  MembershipPort,
  Principal,
  SentMessageLookup,
  TokenVerifier,
  UserDirectory,
} from './ports.js'
