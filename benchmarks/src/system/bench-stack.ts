import { randomBytes } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { type Names, names } from '@chatapp/contracts'
import { ensureStack, provision, removeNamespace, repoRoot, type Stack, stackEnv } from '@chatapp/infra'
import { connectNats, createLogger, type NatsConnection } from '@chatapp/kit'
import { newSigningKeyPem } from './access-tokens.js'
import type { Cleanup } from './cleanup.js'
import type { NatsServer } from './nats-server.js'
import { type RunningService, type ServiceName, serviceBuilt, startService, stopService } from './services.js'
import { stallRecording } from './stall-logs.js'

/**
 * The system under test: NATS, PostgreSQL and S3 reused or started by infra, a fresh namespace
 * per run (so runs never see each other's data, and the numbers start from empty streams), and
 * the services as child processes on free ports. Removed at the end unless kept.
 */
export interface BenchStack {
  stack: Stack
  ns: string
  names: Names
  nc: NatsConnection
  env: Record<string, string>
  services: Partial<Record<ServiceName, RunningService>>
  gatewayUrl?: string
  /** The JWT signing key every gateway of the run verifies with (devices' tokens can be minted with it). */
  jwtKeyPem: string
  /** `PGAPPNAME` of a service is this prefix + its name (see pg-backends.ts). */
  pgAppPrefix: string
  /** Every service running, by label (the stack's and those steps started). */
  running: Map<string, RunningService & { label: string }>
  /** Starts one more instance of a service with the run's environment (stopped with the run). */
  startExtra(name: ServiceName, label: string, o?: { nofile?: number }): Promise<RunningService>
}

export const newBenchNamespace = (): string => `b${Date.now().toString(36)}${randomBytes(3).toString('hex')}`

export interface BenchStackOptions {
  shards: number
  services: ServiceName[]
  gatewayNofile?: number
  keep: boolean
  log: (m: string) => void
  extraEnv?: Record<string, string>
  /** Extra node flags for every service (e.g. --cpu-prof, which NODE_OPTIONS does not allow). */
  nodeArgs?: string[]
  /** `--stalls`: every service records its collections and event-loop blocks here, by its label. */
  stallDir?: string
  /** The nats-server to use instead of the stack's (a private one, see nats-server.ts). */
  nats?: NatsServer
  /** Told of every service started (its label and process), for the sampler. */
  onStart?: (label: string, svc: RunningService) => void
}

const pick = (env: NodeJS.ProcessEnv, keys: readonly string[]): Record<string, string> =>
  Object.fromEntries(keys.flatMap((k) => (env[k] !== undefined ? [[k, env[k]]] : [])))

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/

/** A load test only ever talks to this machine: never load someone's shared NATS or database by accident. */
export const assertLoopback = (what: string, urls: string): void => {
  for (const u of urls.split(',')) {
    const host = new URL(u.trim()).hostname
    if (!LOOPBACK.test(host))
      throw new Error(`${what} ${u.trim()} is not on this machine: benchmarks only run against loopback`)
  }
}

export const startBenchStack = async (o: BenchStackOptions, cleanup: Cleanup): Promise<BenchStack> => {
  const stack = await ensureStack({
    ffmpeg: false,
    session: 'bench',
    log: (m) => o.log(`infra: ${m}`),
    // A private nats-server is the run's own: the stack neither looks for one nor records it.
    ...(o.nats?.private ? { nats: false, env: { ...process.env, NATS_URL: o.nats.url } } : {}),
  })
  assertLoopback('NATS', stack.natsUrl)
  assertLoopback('PostgreSQL', stack.databaseUrl)
  assertLoopback('S3', stack.s3.endpoint)
  if (stack.started.length > 0) {
    o.log(`started ${stack.started.join(', ')} for this run`)
    const { stopSession } = await import('@chatapp/infra')
    cleanup.add('stack daemons', async () => void (await stopSession('bench')))
  }
  const ns = newBenchNamespace()
  const nc = await connectNats(stack.natsUrl, `bench-${ns}`, createLogger('bench', 'silent'))
  cleanup.add('NATS connection', () => nc.close())
  const keyFile = join(repoRoot, '.data', 'bench', `jwt-${ns}.pem`)
  cleanup.add('signing key of the run', async () => rmSync(keyFile, { force: true }))
  // The gateway creates the VAPID key of the run here (push notifications), the push worker reads it.
  const vapidKeyFile = join(repoRoot, '.data', 'bench', `vapid-${ns}.pem`)
  cleanup.add('VAPID key of the run', async () => rmSync(vapidKeyFile, { force: true }))
  const jwtKeyPem = newSigningKeyPem()
  mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 })
  writeFileSync(keyFile, jwtKeyPem, { mode: 0o600 })
  const pgAppPrefix = `bench-${ns}-`
  await provision({
    nc,
    databaseUrl: stack.databaseUrl,
    s3: stack.s3,
    ns,
    shards: o.shards,
    // NATS_REPLICAS and the duplicate window apply to benchmark namespaces too.
    settings: stack.config.settings,
  })
  if (!o.keep) cleanup.add(`namespace ${ns}`, () => removeNamespace(stack, ns, nc))
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...stackEnv(stack),
    ...(process.env.FFMPEG_PATH ? { FFMPEG_PATH: process.env.FFMPEG_PATH } : {}),
    CHATAPP_NS: ns,
    CHATAPP_SHARDS: String(o.shards),
    LOG_LEVEL: 'warn',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    OPS_HOST: '127.0.0.1',
    JWT_PRIVATE_KEY_FILE: keyFile,
    PUSH_VAPID_KEY_FILE: vapidKeyFile,
    // Thousands of users log in from 127.0.0.1 within seconds: the per-address limit on
    // register/login (a defence against password guessing) would refuse all but a handful.
    AUTH_RATE_PER_MINUTE: '1000000',
    AUTH_RATE_BURST: '100000',
    // The media scenario's users upload back to back; the per-user upload rate would pace them.
    UPLOAD_RATE_PER_MINUTE: '1000000',
    UPLOAD_RATE_BURST: '100000',
    // Push settings a run may compare (PROJECTOR_PUSH_JOBS=false: the no-push baseline).
    ...pick(process.env, ['PROJECTOR_PUSH_JOBS', 'PUSH_COALESCE_MS', 'PROJECTOR_LINGER_MS']),
    ...o.extraEnv,
  }
  const running = new Map<string, RunningService & { label: string }>()
  const start = async (name: ServiceName, label: string, nofile?: number): Promise<RunningService> => {
    if (!serviceBuilt(repoRoot, name)) throw new Error(`${name} is not built (run: npx tsc -b)`)
    const stalls = o.stallDir ? stallRecording(o.stallDir, label) : undefined
    const nodeArgs = [...(o.nodeArgs ?? []), ...(stalls?.nodeArgs ?? [])]
    const svc = await startService(name, {
      root: repoRoot,
      // Its PostgreSQL backends carry its name (pg_stat_activity.application_name).
      env: { ...env, ...stalls?.env, PGAPPNAME: `${pgAppPrefix}${label}`.slice(0, 63) },
      ...(nofile ? { nofile } : {}),
      ...(nodeArgs.length > 0 ? { nodeArgs } : {}),
    })
    cleanup.add(label, () => stopService(svc))
    running.set(label, { ...svc, label })
    o.onStart?.(label, svc)
    o.log(`${label} ready (pid ${svc.pid}, ops :${svc.opsPort}${svc.port ? `, port :${svc.port}` : ''})`)
    return svc
  }
  const bs: BenchStack = {
    stack,
    ns,
    names: names(ns, o.shards),
    nc,
    env,
    services: {},
    jwtKeyPem,
    pgAppPrefix,
    running,
    startExtra: (name, label, x) => start(name, label, x?.nofile),
  }
  for (const name of o.services)
    bs.services[name] = await start(name, name, name === 'gateway' ? o.gatewayNofile : undefined)
  if (bs.services.gateway?.port) bs.gatewayUrl = `http://127.0.0.1:${bs.services.gateway.port}`
  return bs
}
