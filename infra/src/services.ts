import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { readDaemon, startDaemon } from './daemon.js'
import { natsServerGoEnv } from './nats-go-env.js'
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
  // A comma-separated list (a NATS cluster) answers when any of its servers does.
  for (const one of url.split(',')) {
    const { host, port } = hostPort(one, defaultPort)
    if (await tcpAnswers(host, port)) return true
  }
  return false
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/

/** Where a service should be, as the environment and the stack's env file say. */
export interface Wanted {
  /** Where to look first. */
  url: string
  /** The environment set it: the stack's own service then starts exactly there, or not at all. */
  configured: boolean
  /** Not configured: other places a running service may be (the recorded URL, the system default). */
  alternatives?: string[]
}

export const wantedAt = (url: string, configured = true): Wanted => ({ url, configured })

interface Spec {
  name: 'nats' | 'postgres' | 's3'
  variable: string
  defaultPort: number
  ownUrl: string
  /** Starts the daemon listening at host:port and resolves when it serves. */
  start(host: string, port: number, url: string): Promise<void>
}

/**
 * Reuses what answers where it is wanted; otherwise starts the stack's own daemon, at the
 * configured address when there is one (so every command configured the same way finds it), or
 * on the stack's own port. A configured address on another machine is never replaced by a local
 * one: that would silently split the system in two.
 */
const ensure = async (dataDir: string, want: Wanted, spec: Spec): Promise<ServiceResult> => {
  const candidates = want.configured ? [want.url] : [want.url, ...(want.alternatives ?? [])]
  for (const url of candidates) if (await answers(url, spec.defaultPort)) return { url, started: false }
  const own = readDaemon(dataDir, spec.name)
  if (own) {
    if (!want.configured && own.url && (await answers(own.url, spec.defaultPort)))
      return { url: own.url, started: false }
    throw new Error(
      `the stack's own ${spec.name} (pid ${own.pid}, ${own.url ?? 'address unknown'}) ` +
        (want.configured ? `is not at ${spec.variable}=${want.url}` : 'does not answer') +
        ': stop it with "make stop", or point the variable at it',
    )
  }
  const url = want.configured ? want.url : spec.ownUrl
  const { host, port } = localTarget(spec.variable, url, spec.defaultPort)
  await spec.start(host, port, url)
  return { url, started: true }
}

/**
 * Where the stack may start its own service for a URL nothing answers at: a single server on
 * this machine. Anything else is an error that says what to do.
 */
export const localTarget = (
  variable: string,
  url: string,
  defaultPort: number,
): { host: string; port: number } => {
  if (url.includes(','))
    throw new Error(
      `nothing answers at ${variable}=${url}; the stack starts single servers only (a cluster: make cluster)`,
    )
  const { host, port } = hostPort(url, defaultPort)
  if (!LOOPBACK.test(host))
    throw new Error(
      `nothing answers at ${variable}=${url}, and the stack starts its own service only on this machine: ` +
        `start that service, or unset ${variable} to use the local one`,
    )
  return { host, port }
}

export const ensureNats = (dataDir: string, want: Wanted, log: Log): Promise<ServiceResult> =>
  ensure(dataDir, want, {
    name: 'nats',
    variable: 'NATS_URL',
    defaultPort: 4222,
    ownUrl: OWN_NATS_URL,
    start: async (host, port, url) => {
      log(`NATS does not answer at ${want.url}: starting nats-server with JetStream at ${url}`)
      const bin = ensureCommand('nats-server', 'nats-server', log)
      const store = join(dataDir, 'nats')
      mkdirSync(store, { recursive: true })
      startDaemon(dataDir, 'nats', url, bin, ['-a', host, '-p', String(port), '-js', '-sd', store], {
        env: { ...process.env, ...natsServerGoEnv() },
      })
      await waitFor('nats-server', () => answers(url, 4222))
    },
  })

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

/** The role and database the URL names, created in our own cluster (trust auth: no password). */
const ensureRoleAndDatabase = async (url: string, host: string, port: number): Promise<void> => {
  const u = new URL(url)
  const user = decodeURIComponent(u.username || 'postgres')
  const database = decodeURIComponent(u.pathname.replace(/^\//, '') || user)
  if (user === 'postgres' && database === 'postgres') return
  const admin = new pg.Client({ host, port, user: 'postgres', database: 'postgres' })
  await admin.connect()
  try {
    const ident = (x: string) => `"${x.replaceAll('"', '""')}"`
    const role = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user])
    if (role.rowCount === 0) await admin.query(`CREATE ROLE ${ident(user)} LOGIN SUPERUSER`)
    const db = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])
    if (db.rowCount === 0) await admin.query(`CREATE DATABASE ${ident(database)} OWNER ${ident(user)}`)
  } finally {
    await admin.end()
  }
}

export const ensurePostgres = (dataDir: string, want: Wanted, log: Log): Promise<ServiceResult> =>
  ensure(dataDir, want, {
    name: 'postgres',
    variable: 'DATABASE_URL',
    defaultPort: 5432,
    ownUrl: OWN_PG_URL,
    start: async (host, port, url) => {
      log(`PostgreSQL does not answer at ${want.url}: starting a cluster under .data/pg at ${host}:${port}`)
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
          { stdio: 'ignore', ...(owner ?? {}) },
        )
      }
      const args = ['-D', pgdata, '-p', String(port), '-h', host, '-k', '', '-c', 'max_connections=200']
      startDaemon(dataDir, 'postgres', url, postgres, args, owner ?? {})
      const admin = `postgres://postgres@${host.includes(':') ? `[${host}]` : host}:${port}/postgres`
      await waitFor('postgres to accept queries', () => pgAnswersQueries(admin))
      await ensureRoleAndDatabase(url, host, port)
    },
  })

export const ensureS3 = (dataDir: string, want: Wanted, log: Log, repoRoot: string): Promise<ServiceResult> =>
  ensure(dataDir, want, {
    name: 's3',
    variable: 'S3_ENDPOINT',
    defaultPort: 80,
    ownUrl: OWN_S3_URL,
    start: async (host, port, url) => {
      log(`S3 does not answer at ${want.url}: starting s3rver under .data/s3 at ${url}`)
      const dir = join(dataDir, 's3')
      mkdirSync(dir, { recursive: true })
      const server = join(repoRoot, 'infra/dist/s3-server.js')
      const args = [server, '--address', host, '--port', String(port), '--dir', dir]
      startDaemon(dataDir, 's3', url, process.execPath, args)
      await waitFor('s3rver', () => answers(url, 80))
    },
  })

export const ensureFfmpeg = (log: Log): string => {
  const ffmpeg = ensureCommand('ffmpeg', 'ffmpeg', log)
  ensureCommand('ffprobe', 'ffmpeg', log)
  return ffmpeg
}
