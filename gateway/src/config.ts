import { DEFAULT_LIMITS, type Limits } from '@chatapp/contracts'
import type { ConfigReader } from '@chatapp/kit'

/** The gateway's settings beyond the common ones; read once in main.ts, passed to startGateway. */
export interface GatewayConfig {
  ns: string
  shards: number
  host: string
  port: number
  allowedOrigins: string[]
  limits: Limits
  /** Seconds without traffic before uWS pings, then closes. */
  idleTimeoutS: number
  /** Buffered outgoing bytes beyond which a socket is a slow consumer (4430). */
  maxBackpressureBytes: number
  presenceRefreshMs: number
  /** How long group receipts are collected before one batch is appended (0: no batching). */
  receiptBatchMs: number
  /**
   * How long an append (or a read) keeps retrying while the log is unavailable — a stream leader
   * election takes 5–8 s — before the client is answered UNAVAILABLE. Within JetStream's duplicate
   * window, so a retry with the same Msg-Id can never store twice.
   */
  appendRetryMs: number
  /** Syncs running at once; more wait in line (admission.ts, ADR 0172). */
  syncConcurrency: number
  /** Syncs waiting at most; beyond, a sync is refused UNAVAILABLE with `retryAfterMs`. */
  syncQueue: number
}

export const defaultGatewayConfig = (ns: string, shards: number): GatewayConfig => ({
  ns,
  shards,
  host: '127.0.0.1',
  port: 0,
  allowedOrigins: ['*'],
  limits: { ...DEFAULT_LIMITS },
  idleTimeoutS: 120,
  maxBackpressureBytes: 1024 * 1024,
  presenceRefreshMs: 20_000,
  receiptBatchMs: 100,
  appendRetryMs: 10_000,
  syncConcurrency: 64,
  syncQueue: 20_000,
})

export const readGatewayConfig = (c: ConfigReader, ns: string, shards: number): GatewayConfig => {
  const connFps = c.int('CONN_FRAMES_PER_SECOND', 1, 100_000)
  const userFps = c.int('USER_FRAMES_PER_SECOND', 1, 100_000)
  return {
    ...defaultGatewayConfig(ns, shards),
    host: c.str('GATEWAY_HOST'),
    port: c.int('GATEWAY_PORT', 0, 65535),
    allowedOrigins: c.list('ALLOWED_ORIGINS'),
    receiptBatchMs: c.int('RECEIPT_BATCH_MS', 0, 10_000),
    appendRetryMs: c.int('APPEND_RETRY_MS', 0, 60_000),
    syncConcurrency: c.int('SYNC_CONCURRENCY', 1, 100_000),
    syncQueue: c.int('SYNC_QUEUE', 0, 1_000_000),
    limits: {
      ...DEFAULT_LIMITS,
      maxFrameBytes: c.int('MAX_FRAME_BYTES', 1024, 16 * 1024 * 1024),
      maxTextLength: c.int('MAX_TEXT_LENGTH', 1, 65_536),
      maxGroupMembers: c.int('MAX_GROUP_MEMBERS', 2, 100_000),
      editWindowMs: c.int('EDIT_WINDOW_MS', 0, 365 * 24 * 3_600_000),
      deleteWindowMs: c.int('DELETE_WINDOW_MS', 0, 365 * 24 * 3_600_000),
      connFramesPerSecond: connFps,
      connBurst: connFps * 4,
      userFramesPerSecond: userFps,
      userBurst: userFps * 4,
    },
  }
}
