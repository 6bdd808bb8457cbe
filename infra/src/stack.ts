import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import {
  envDefault,
  formatEnvFile,
  readEnvFile,
  type S3Config,
  stackDataDir,
  stackEnvPath,
  updateEnvFile,
} from '@chatapp/kit'
import { type InfraConfig, readInfraConfig } from './config.js'
import { type Daemon, stopDaemon } from './daemon.js'
import { repoRoot } from './repo-root.js'
import { ensureFfmpeg, ensureNats, ensurePostgres, ensureS3, type Log, type Wanted } from './services.js'

export { repoRoot }
export const defaultDataDir = (): string => stackDataDir(process.env)

export interface Stack {
  natsUrl: string
  databaseUrl: string
  s3: S3Config
  ffmpeg: string | undefined
  /** The daemons this call started. */
  started: string[]
  /** The rest of the configuration, validated with the addresses: namespace, shards, log settings. */
  config: InfraConfig
}

export interface EnsureOptions {
  dataDir?: string
  env?: NodeJS.ProcessEnv
  log?: Log
  ffmpeg?: boolean
  /** false: leave NATS alone (a caller that runs its own, like the cluster); `natsUrl` is then as configured. */
  nats?: boolean
  /** Records the daemons started under this name, so `stopSession` stops exactly those. */
  session?: string
}

const sessionFile = (dataDir: string, session: string) => join(dataDir, 'run', `session-${session}.json`)

/** The variables each daemon the stack starts answers for in the env file. */
const DAEMON_VARS: Record<string, string> = { nats: 'NATS_URL', postgres: 'DATABASE_URL', s3: 'S3_ENDPOINT' }

const isSet = (env: NodeJS.ProcessEnv, name: string) => env[name] !== undefined && env[name] !== ''

/**
 * Reuses the services the environment points at when they answer, and otherwise starts its own
 * under the data directory: nats-server with JetStream, a PostgreSQL cluster, s3rver; installs
 * ffmpeg when missing. A variable the environment sets is where the service must be (started
 * there when it is on this machine and nothing answers); one it leaves unset is looked up in the
 * stack's env file (a stack already running), then at the default, then the stack's own daemon
 * on its own port. What it resolved is written back to `<data dir>/stack.env`, which every
 * command reads for the variables its environment does not set.
 */
export const ensureStack = async (o: EnsureOptions = {}): Promise<Stack> => {
  const dataDir = o.dataDir ?? defaultDataDir()
  const log = o.log ?? ((m: string) => console.error(`[infra] ${m}`))
  const env = o.env ?? process.env
  // CHATAPP_ENV_FILE points a command at another stack's file (e.g. the cluster's): read it, but
  // only the stack's own file is ours to rewrite.
  const ownFile = join(dataDir, 'stack.env')
  const file = env.CHATAPP_ENV_FILE ? stackEnvPath(env) : ownFile
  const recorded = readEnvFile(file)
  const merged = { ...recorded, ...Object.fromEntries(Object.entries(env).filter(([k]) => isSet(env, k))) }
  const cfg = readInfraConfig(merged)
  const want = (name: string, url: string): Wanted => ({
    url,
    configured: isSet(env, name),
    alternatives: [envDefault(name)],
  })
  const [nats, postgres, s3r] = [
    o.nats === false
      ? { url: cfg.natsUrl, started: false }
      : await ensureNats(dataDir, want('NATS_URL', cfg.natsUrl), log),
    await ensurePostgres(dataDir, want('DATABASE_URL', cfg.databaseUrl), log),
    await ensureS3(dataDir, want('S3_ENDPOINT', cfg.s3.endpoint), log, repoRoot),
  ]
  const ffmpeg = o.ffmpeg === false ? undefined : ensureFfmpeg(log)
  const started = (
    [
      ['nats', nats],
      ['postgres', postgres],
      ['s3', s3r],
    ] as const
  )
    .filter(([, r]) => r.started)
    .map(([name]) => name)
  if (o.session && started.length > 0) {
    mkdirSync(join(dataDir, 'run'), { recursive: true })
    const f = sessionFile(dataDir, o.session)
    const before: string[] = existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : []
    writeFileSync(f, JSON.stringify([...new Set([...before, ...started])]))
  }
  const s3 = { ...cfg.s3, endpoint: s3r.url }
  const stack: Stack = { natsUrl: nats.url, databaseUrl: postgres.url, s3, ffmpeg, started, config: cfg }
  if (file === ownFile) {
    const resolved = stackEnv(stack)
    if (o.nats === false) delete resolved.NATS_URL
    updateEnvFile(ownFile, resolved)
  }
  return stack
}

/** The daemons are gone: their variables in the env file would point at nothing. */
const forgetDaemons = (dataDir: string, stopped: Daemon[]): void => {
  const urls = new Map(stopped.map((d) => [DAEMON_VARS[d.name]!, d.url]))
  const file = join(dataDir, 'stack.env')
  if (stopped.length > 0 && existsSync(file)) updateEnvFile(file, {}, (k, v) => urls.get(k) === v)
}

/** Stops the daemons a session started (services it found running are left alone). */
export const stopSession = async (session: string, dataDir = defaultDataDir()): Promise<string[]> => {
  const file = sessionFile(dataDir, session)
  if (!existsSync(file)) return []
  const started: string[] = JSON.parse(readFileSync(file, 'utf8'))
  const stopped: Daemon[] = []
  for (const name of started) {
    const d = await stopDaemon(dataDir, name)
    if (d) stopped.push(d)
  }
  forgetDaemons(dataDir, stopped)
  rmSync(file, { force: true })
  return started
}

export const stopAll = async (dataDir = defaultDataDir()): Promise<string[]> => {
  const stopped: Daemon[] = []
  for (const name of ['s3', 'postgres', 'nats']) {
    const d = await stopDaemon(dataDir, name)
    if (d) stopped.push(d)
  }
  forgetDaemons(dataDir, stopped)
  return stopped.map((d) => d.name)
}

/** The variables that point every process at this stack. */
export const stackEnv = (s: Stack): Record<string, string> => ({
  NATS_URL: s.natsUrl,
  DATABASE_URL: s.databaseUrl,
  S3_ENDPOINT: s.s3.endpoint,
  S3_REGION: s.s3.region,
  S3_ACCESS_KEY_ID: s.s3.accessKeyId,
  S3_SECRET_ACCESS_KEY: s.s3.secretAccessKey,
  S3_FORCE_PATH_STYLE: String(s.s3.forcePathStyle),
  ...(s.ffmpeg ? { FFMPEG_PATH: s.ffmpeg } : {}),
})

export const writeEnvFile = (path: string, env: Record<string, string>): void => {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, formatEnvFile(env))
}
