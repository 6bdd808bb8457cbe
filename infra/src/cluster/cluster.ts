import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Names, names } from '@chatapp/contracts'
import { connectNats, createLogger, jetstreamManager, type NatsConnection } from '@chatapp/kit'
import type { JetStreamManager } from '@nats-io/jetstream'
import { freePort } from '../probe.js'
import { provision } from '../provision.js'
import { OPS_PORT_VAR, readyz, SERVICE_ENTRY, type ServiceKind } from '../service-kinds.js'
import { ensureStack, repoRoot, type Stack, stackEnv, stopSession } from '../stack.js'
import { ensureCommand } from '../system-packages.js'
import { dropNamespaceData } from '../test-support.js'
import { type Backend, haproxyDef } from './haproxy.js'
import { metaLeader, startNatsNodes, streamLeader } from './nats-cluster.js'
import { type ClusterProcess, type ProcessDef, ProcessSet } from './process-set.js'

/** For tests that restart a node of a test cluster: ready once an R3 stream can be placed again. */
export { waitJetStream } from './nats-cluster.js'
export type { ClusterProcess, ProcessKind } from './process-set.js'

export interface ClusterOptions {
  /** Namespace. Default: a fresh one (`k…`) with a temporary data dir, `chatappcluster` with a `dataDir`. */
  ns?: string
  /** Conversation shard streams (default 8). */
  shards?: number
  gateways?: number
  projectors?: number
  mediaWorkers?: number
  pushWorkers?: number
  /** Replicas of every stream and KV bucket (default 3: every node has every stream). */
  replicas?: number
  /**
   * The production config's `sync_interval: always` (an fsync per append on every node; default
   * true). A load run on one machine's disk may turn it off: a process kill (what the chaos run
   * does) loses no page cache, so it changes only the rate the disk allows (ADR 0112).
   */
  fsyncEveryAppend?: boolean
  /** Duplicate window of the streams (default NATS_DUPLICATE_WINDOW_MS, else 120 s). */
  duplicateWindowMs?: number
  /**
   * Where the NATS stores, logs, haproxy config and signing key live. Given: they are kept
   * across runs (`make cluster`). Not given: a temporary directory that `stop()` removes, together
   * with the namespace's database schemas and bucket.
   */
  dataDir?: string
  /** Extra variables for every service (e.g. AUTH_RATE_PER_MINUTE for a load run). */
  env?: Record<string, string>
  /** The services' LOG_LEVEL (default warn). */
  logLevel?: string
  /** PostgreSQL and S3 to use. Default: `ensureStack` (reused, or started for this cluster only). */
  stack?: Stack
  log?: (msg: string) => void
  onLine?: (name: string, line: string) => void
  /** A process exited without being asked to (kill9, restart and stop are not reported). */
  onExit?: (name: string, code: number | null, signal: NodeJS.Signals | null) => void
}

export interface Cluster {
  ns: string
  shards: number
  names: Names
  /** The three NATS nodes, comma-separated (what NATS_URL takes). */
  natsUrl: string
  /** haproxy in front of the gateways: the HTTP API … */
  httpUrl: string
  /** … and the WebSocket. */
  wsUrl: string
  /** The variables a client, a CLI or a benchmark needs to talk to this cluster. */
  env: Record<string, string>
  dataDir: string
  /** Every process: nats-1..3, gateway-N, projector-N, media-worker-N, haproxy. */
  processes: readonly ClusterProcess[]
  process(name: string): ClusterProcess
  /** SIGKILL to the process (and its process group); resolves once it is gone. */
  kill9(name: string): Promise<void>
  /** Stops it gracefully if it runs, starts it on the same ports and data, resolves once it is ready. */
  restart(name: string): Promise<void>
  /**
   * The name of the NATS process (`nats-2`) that leads the stream's raft group now; waits, up to
   * `timeoutMs`, while the group has no leader or names one that is down.
   */
  streamLeader(stream: string, timeoutMs?: number): Promise<string>
  /** The name of the NATS process that is the JetStream meta leader now (from `/jsz`), waiting likewise. */
  metaLeader(timeoutMs?: number): Promise<string>
  /** Services first (one SIGTERM each, 15 s to drain, then SIGKILL), then haproxy, then NATS. */
  stop(): Promise<void>
}

const SERVICE_GRACE_MS = 15_000

/** An Ed25519 PKCS#8 key every gateway signs and verifies tokens with (gateways must share it). */
const ensureSigningKey = (path: string): void => {
  if (existsSync(path)) return
  const { privateKey } = generateKeyPairSync('ed25519')
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
}

/** The P-256 key of VAPID (RFC 8292), created before the services start so that none races to. */
const ensureVapidKey = (path: string): void => {
  if (existsSync(path)) return
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
}

/**
 * The whole system as production runs it, on this machine: three nats-servers from
 * `infra/deploy/nats/cluster.conf` (R3 streams and KV), gateways behind haproxy from
 * `infra/deploy/haproxy.cfg`, projectors and media workers, on free ports. PostgreSQL and S3 come
 * from the local stack. Every process can be killed with -9 and restarted.
 */
export const startCluster = async (o: ClusterOptions = {}): Promise<Cluster> => {
  const log = o.log ?? (() => {})
  const ephemeral = o.dataDir === undefined
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'chatapp-cluster-'))
  mkdirSync(dataDir, { recursive: true })
  const logDir = join(dataDir, 'log')
  const session = `cluster-${randomBytes(4).toString('hex')}`
  const stack = o.stack ?? (await ensureStack({ session, log, nats: false }))
  const ns =
    o.ns ?? (ephemeral ? `k${Date.now().toString(36)}${randomBytes(3).toString('hex')}` : 'chatappcluster')
  const shards = o.shards ?? 8
  const n = names(ns, shards)
  const settings = {
    ...stack.config.settings,
    replicas: o.replicas ?? 3,
    ...(o.duplicateWindowMs !== undefined ? { duplicateWindowMs: o.duplicateWindowMs } : {}),
  }

  const set = new ProcessSet({
    ...(o.onLine ? { onLine: o.onLine } : {}),
    ...(o.onExit ? { onExit: o.onExit } : {}),
  })
  let nc: NatsConnection | undefined
  const cleanup = async () => {
    await set.stopAll(['gateway', 'projector', 'media-worker', 'push-worker', 'haproxy'])
    if (ephemeral) await dropNamespaceData(stack, ns).catch(() => {})
    await nc?.close().catch(() => {})
    await set.stopAll(['nats'])
    if (!o.stack) await stopSession(session)
    if (ephemeral) rmSync(dataDir, { recursive: true, force: true })
  }

  try {
    const haproxyBin = ensureCommand('haproxy', 'haproxy', log)
    const { url: natsUrl } = await startNatsNodes(set, join(dataDir, 'nats'), logDir, log, {
      ...(o.fsyncEveryAppend !== undefined ? { fsyncEveryAppend: o.fsyncEveryAppend } : {}),
    })
    nc = await connectNats(natsUrl, `cluster-${ns}`, createLogger('cluster', 'silent'))
    const jsm: JetStreamManager = await jetstreamManager(nc, { checkAPI: false, timeout: 3000 })
    await provision({ nc, databaseUrl: stack.databaseUrl, s3: stack.s3, ns, shards, settings })
    log(`provisioned "${ns}": ${shards} shards, R${settings.replicas} streams and KV buckets`)

    const keyFile = join(dataDir, 'jwt-ed25519.pem')
    ensureSigningKey(keyFile)
    // Gateways tell browsers the VAPID public key, push workers sign with it: one key for all.
    const vapidKeyFile = join(dataDir, 'vapid-p256.pem')
    ensureVapidKey(vapidKeyFile)
    const common: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...stackEnv(stack),
      NATS_URL: natsUrl,
      CHATAPP_NS: ns,
      CHATAPP_SHARDS: String(shards),
      OPS_HOST: '127.0.0.1',
      LOG_LEVEL: o.logLevel ?? 'warn',
      JWT_PRIVATE_KEY_FILE: keyFile,
      PUSH_VAPID_KEY_FILE: vapidKeyFile,
      // haproxy appends the client's address (option forwardfor).
      TRUSTED_PROXY_HOPS: '1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...o.env,
    }
    const serviceDef = async (kind: ServiceKind, i: number): Promise<ProcessDef> => {
      const ops = await freePort()
      const http = kind === 'gateway' ? await freePort() : undefined
      const name = `${kind}-${i}`
      return {
        name,
        kind,
        ports: { ops, ...(http ? { http } : {}) },
        urls: { ops: `http://127.0.0.1:${ops}`, ...(http ? { http: `http://127.0.0.1:${http}` } : {}) },
        command: process.execPath,
        args: [join(repoRoot, SERVICE_ENTRY[kind])],
        env: {
          ...common,
          [OPS_PORT_VAR[kind]]: String(ops),
          ...(http ? { GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: String(http) } : {}),
        },
        cwd: repoRoot,
        logFile: join(logDir, `${name}.log`),
        ready: () => readyz(ops),
        readyTimeoutMs: 60_000,
        graceMs: SERVICE_GRACE_MS,
      }
    }
    const counts: [ServiceKind, number][] = [
      ['gateway', o.gateways ?? 2],
      ['projector', o.projectors ?? 2],
      ['media-worker', o.mediaWorkers ?? 2],
      ['push-worker', o.pushWorkers ?? 1],
    ]
    const services: ProcessDef[] = []
    for (const [kind, count] of counts)
      for (let i = 1; i <= count; i++) services.push(await serviceDef(kind, i))
    for (const def of services) set.add(def)
    await Promise.all(services.map((d) => set.start(d.name)))

    const backends: Backend[] = services
      .filter((d) => d.kind === 'gateway')
      .map((d) => ({ name: d.name, port: d.ports.http!, opsPort: d.ports.ops! }))
    const lb = set.add(haproxyDef(haproxyBin, join(dataDir, 'haproxy'), await freePort(), backends, logDir))
    await set.start(lb.name)

    const env: Record<string, string> = {
      ...stackEnv(stack),
      NATS_URL: natsUrl,
      CHATAPP_NS: ns,
      CHATAPP_SHARDS: String(shards),
    }
    const isUp = (server: string) => set.all.some((p) => p.name === server && p.running)
    let stopped: Promise<void> | undefined
    return {
      ns,
      shards,
      names: n,
      natsUrl,
      httpUrl: lb.urls.http!,
      wsUrl: lb.urls.ws!,
      env,
      dataDir,
      processes: set.all,
      process: (name) => set.get(name),
      kill9: (name) => set.kill9(name),
      restart: (name) => set.restart(name),
      streamLeader: (stream, timeoutMs = 30_000) => streamLeader(jsm, stream, isUp, timeoutMs),
      metaLeader: (timeoutMs = 30_000) => {
        const monitors = () =>
          set.all.filter((p) => p.kind === 'nats' && p.running).map((p) => p.urls.monitor!)
        return metaLeader(monitors, isUp, timeoutMs)
      },
      stop: () => {
        stopped ??= cleanup()
        return stopped
      },
    }
  } catch (e) {
    await cleanup()
    throw e
  }
}
