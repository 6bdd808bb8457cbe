import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { readDaemon, startDaemon } from './daemon.js'
import { hostPort, tcpAnswers, waitFor } from './probe.js'
import { ensureCommand, findExecutable, postgresBinDirs } from './system-packages.js'

/** Ports of the services the stack starts itself; apart from the system defaults on purpose. */
export const OWN_PORTS = { nats: 14222, postgres: 15432, s3: 14568 } as const

export type Log = (msg: string) => void

export interface ServiceResult {
  url: string
  /** True when this call started it (so the caller's session owns stopping it). */
  started: boolean
}

const OWN_NATS_URL = `nats://127.0.0.1:${OWN_PORTS.nats}`
const OWN_PG_URL = `postgres://postgres@127.0.0.1:${OWN_PORTS.postgres}/postgres`
const OWN_S3_URL = `http://127.0.0.1:${OWN_PORTS.s3}`

/**
 * PostgreSQL accepts TCP connections while it is still starting up (and refuses them with
 * 57P03), so "ready" means a query succeeds, not that the port answers.
 */
const pgAnswersQueries = async (url: string): Promise<boolean> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

const answers = async (url: string, defaultPort: number) => {
  const { host, port } = hostPort(url, defaultPort)
  return tcpAnswers(host, port)
}

export const ensureNats = async (dataDir: string, wanted: string, log: Log): Promise<ServiceResult> => {
  if (await answers(wanted, 4222)) return { url: wanted, started: false }
  if (readDaemon(dataDir, 'nats') && (await answers(OWN_NATS_URL, 4222)))
    return { url: OWN_NATS_URL, started: false }
  log(`NATS does not answer at ${wanted}: starting nats-server with JetStream on :${OWN_PORTS.nats}`)
  const bin = ensureCommand('nats-server', 'nats-server', log)
  const store = join(dataDir, 'nats')
  mkdirSync(store, { recursive: true })
  startDaemon(dataDir, 'nats', bin, ['-a', '127.0.0.1', '-p', String(OWN_PORTS.nats), '-js', '-sd', store])
  await waitFor('nats-server', () => answers(OWN_NATS_URL, 4222))
  return { url: OWN_NATS_URL, started: true }
}

/** PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user. */
const postgresOwner = (): { uid: number; gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'))
  if (!line) throw new Error('running as root and there is no "postgres" user to own the database cluster')
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

export const ensurePostgres = async (dataDir: string, wanted: string, log: Log): Promise<ServiceResult> => {
  if (await answers(wanted, 5432)) return { url: wanted, started: false }
  if (readDaemon(dataDir, 'postgres') && (await answers(OWN_PG_URL, 5432)))
    return { url: OWN_PG_URL, started: false }
  log(`PostgreSQL does not answer at ${wanted}: starting a cluster under .data/pg on :${OWN_PORTS.postgres}`)
  const initdb = ensureCommand('initdb', 'postgresql', log, postgresBinDirs)
  const postgres = findExecutable('postgres', postgresBinDirs())
  if (!postgres) throw new Error('initdb was found but the postgres server binary was not')
  const owner = postgresOwner()
  const pgdata = join(dataDir, 'pg')
  mkdirSync(dataDir, { recursive: true })
  // The cluster's owner must be able to reach its directory through the data directory.
  if (owner) chmodSync(dataDir, 0o755)
  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    mkdirSync(pgdata, { recursive: true })
    if (owner) execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, pgdata])
    execFileSync(
      initdb,
      ['-D', pgdata, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions'],
      {
        stdio: 'ignore',
        ...(owner ?? {}),
      },
    )
  }
  startDaemon(
    dataDir,
    'postgres',
    postgres,
    [
      '-D',
      pgdata,
      '-p',
      String(OWN_PORTS.postgres),
      '-h',
      '127.0.0.1',
      '-k',
      '',
      '-c',
      'max_connections=200',
    ],
    owner ?? {},
  )
  await waitFor('postgres to accept queries', () => pgAnswersQueries(OWN_PG_URL))
  return { url: OWN_PG_URL, started: true }
}

export const ensureS3 = async (
  dataDir: string,
  wanted: string,
  log: Log,
  repoRoot: string,
): Promise<ServiceResult> => {
  if (await answers(wanted, 80)) return { url: wanted, started: false }
  if (readDaemon(dataDir, 's3') && (await answers(OWN_S3_URL, 80))) return { url: OWN_S3_URL, started: false }
  log(`S3 does not answer at ${wanted}: starting s3rver under .data/s3 on :${OWN_PORTS.s3}`)
  const dir = join(dataDir, 's3')
  mkdirSync(dir, { recursive: true })
  startDaemon(dataDir, 's3', process.execPath, [
    join(repoRoot, 'infra/dist/s3-server.js'),
    '--port',
    String(OWN_PORTS.s3),
    '--dir',
    dir,
  ])
  await waitFor('s3rver', () => answers(OWN_S3_URL, 80))
  return { url: OWN_S3_URL, started: true }
}

export const ensureFfmpeg = (log: Log): string => {
  const ffmpeg = ensureCommand('ffmpeg', 'ffmpeg', log)
  ensureCommand('ffprobe', 'ffmpeg', log)
  return ffmpeg
}
