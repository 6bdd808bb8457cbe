import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigReader, readS3, type S3Config } from '@chatapp/kit'
import { stopDaemon } from './daemon.js'
import { ensureFfmpeg, ensureNats, ensurePostgres, ensureS3, type Log } from './services.js'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const defaultDataDir = () => resolve(process.env.CHATAPP_DATA_DIR ?? join(repoRoot, '.data'))

export interface Stack {
  natsUrl: string
  databaseUrl: string
  s3: S3Config
  ffmpeg: string | undefined
  /** The daemons this call started. */
  started: string[]
}

export interface EnsureOptions {
  dataDir?: string
  env?: NodeJS.ProcessEnv
  log?: Log
  ffmpeg?: boolean
  /** Records the daemons started under this name, so `stopSession` stops exactly those. */
  session?: string
}

const sessionFile = (dataDir: string, session: string) => join(dataDir, 'run', `session-${session}.json`)

/**
 * Reuses the services the environment points at when they answer, and otherwise starts its own
 * under the data directory: nats-server with JetStream, a PostgreSQL cluster, s3rver; installs
 * ffmpeg when missing.
 */
export const ensureStack = async (o: EnsureOptions = {}): Promise<Stack> => {
  const dataDir = o.dataDir ?? defaultDataDir()
  const log = o.log ?? ((m: string) => console.error(`[infra] ${m}`))
  const c = new ConfigReader(o.env ?? process.env)
  const natsWanted = c.url('NATS_URL')
  const pgWanted = c.url('DATABASE_URL')
  const s3 = readS3(c)
  c.done()
  const [nats, postgres, s3r] = [
    await ensureNats(dataDir, natsWanted, log),
    await ensurePostgres(dataDir, pgWanted, log),
    await ensureS3(dataDir, s3.endpoint, log, repoRoot),
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
    const file = sessionFile(dataDir, o.session)
    const before: string[] = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : []
    writeFileSync(file, JSON.stringify([...new Set([...before, ...started])]))
  }
  return { natsUrl: nats.url, databaseUrl: postgres.url, s3: { ...s3, endpoint: s3r.url }, ffmpeg, started }
}

/** Stops the daemons a session started (services it found running are left alone). */
export const stopSession = async (session: string, dataDir = defaultDataDir()): Promise<string[]> => {
  const file = sessionFile(dataDir, session)
  if (!existsSync(file)) return []
  const started: string[] = JSON.parse(readFileSync(file, 'utf8'))
  for (const name of started) await stopDaemon(dataDir, name)
  rmSync(file, { force: true })
  return started
}

export const stopAll = async (dataDir = defaultDataDir()): Promise<string[]> => {
  const stopped: string[] = []
  for (const name of ['s3', 'postgres', 'nats']) if (await stopDaemon(dataDir, name)) stopped.push(name)
  return stopped
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
  writeFileSync(
    path,
    `${Object.entries(env)
      .map(([k, v]) => `export ${k}='${v.replaceAll("'", "'\\''")}'`)
      .join('\n')}\n`,
  )
}
