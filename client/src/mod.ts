/** @chatapp/client: the TypeScript client of the Chatapp protocol. */
export { AuthApi, type AuthApiOptions } from './auth-api.js'
export { type BackoffOptions, backoffCeiling, backoffDelay, DEFAULT_BACKOFF } from './backoff.js'
export { ChatClient, connect, SUBPROTOCOL, WS_PATH } from './chat-client.js'
export { type CloseAction, closeAction } from './close-policy.js'
export { type CursorStore, MemoryCursorStore } from './cursor-store.js'
export {
  ChatClientError,
  CLIENT_ERRORS,
  type ClientErrorCode,
  type ClientOnlyCode,
  isChatClientError,
} from './errors.js'
export { EventTracker, type Verdict } from './event-tracker.js'
export { newClientMsgId } from './ids.js'
export { PushApi } from './push-api.js'
export { ReceiptCoalescer, type ReceiptKind } from './receipt-coalescer.js'
export { type TokenSession, type TokenSessionOptions, tokenSession } from './token-session.js'
export type * from './types.js'
