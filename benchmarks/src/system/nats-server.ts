import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import {
  freePort,
  hostPort,
  natsServerGoEnv,
  spawnChild,
  stopChild,
  tcpAnswers,
  waitFor,
} from '@chatapp/infra'
import type { Cleanup } from './cleanup.js'

/**
 * The nats-server a run measures. By default a run starts its own (JetStream on a temporary
 * store, a monitoring port, loopback only): on a machine shared with other test suites the
 * stack's server holds their streams, consumers and connections too, and its memory and
 * consumer count say nothing about this run. `--shared-nats` uses the stack's server instead;
 * its process is then found by the port it listens on (several nats-servers may run here).
 */
export interface NatsServer {
  url: string
  /** `http://127.0.0.1:<port>` of the monitoring endpoints (/varz, /jsz), when known. */
  monitorUrl?: string
  /** The server's pid (0 when it could not be found). */
  pid: () => number
  private: boolean
}

const natsBinary = (): string => {
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/sbin',
    '/usr/local/sbin',
    '/usr/local/bin',
  ]
  const found = dirs.map((d) => join(d, 'nats-server')).find((p) => existsSync(p))
  if (!found)
    throw new Error('nats-server is not installed (apt-get install nats-server, or use --shared-nats)')
  return found
}

/**
 * Starts the run's own nats-server, with production's Go settings (the nats-server drop-in,
 * ADR 0229). `procs` > 0 is its GOMAXPROCS (ADR 0222: one P costs less per message on the hot
 * path and queues cold syncs); 0 leaves Go's default (every core).
 */
export const startPrivateNats = async (
  cleanup: Cleanup,
  log: (m: string) => void,
  procs = 0,
): Promise<NatsServer> => {
  const dir = mkdtempSync(join(tmpdir(), 'chatapp-bench-nats-'))
  cleanup.add('nats-server store', async () => rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  const monitor = await freePort()
  const tail: string[] = []
  const child = spawnChild({
    name: 'nats-server',
    command: natsBinary(),
    args: ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-js', '-sd', dir],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      // Production's Go settings (GOGC, ADR 0229), so the run measures the server as it runs there.
      ...natsServerGoEnv(),
      ...(procs > 0 ? { GOMAXPROCS: String(procs) } : {}),
    },
    onLine: (l) => {
      tail.push(l)
      if (tail.length > 20) tail.shift()
    },
  })
  cleanup.add('nats-server', async () => void (await stopChild(child.process, 10_000)))
  try {
    await waitFor('the private nats-server', () => tcpAnswers('127.0.0.1', port), 20_000)
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}:\n${tail.join('\n')}`)
  }
  log(
    `private nats-server ready (pid ${child.pid}, :${port}, monitoring :${monitor}${procs > 0 ? `, GOMAXPROCS ${procs}` : ''})`,
  )
  return {
    url: `nats://127.0.0.1:${port}`,
    monitorUrl: `http://127.0.0.1:${monitor}`,
    pid: () => child.pid,
    private: true,
  }
}

/** Socket inodes listening on `port` (any address), from /proc/net/tcp{,6}. */
export const listeningInodes = (tables: string[], port: number): Set<string> => {
  const out = new Set<string>()
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  for (const t of tables)
    for (const line of t.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      // local_address is "ADDR:PORT" in hex, st 0A is LISTEN, inode is the 10th field.
      if (f.length > 9 && f[1]?.endsWith(`:${hex}`) && f[3] === '0A') out.add(f[9]!)
    }
  return out
}

/** The pid of the process listening on a local TCP port, or 0 (not visible to this user). */
export const pidListeningOn = (port: number): number => {
  const tables = ['/proc/net/tcp', '/proc/net/tcp6'].map((p) => {
    try {
      return readFileSync(p, 'utf8')
    } catch {
      return ''
    }
  })
  const inodes = listeningInodes(tables, port)
  if (inodes.size === 0) return 0
  const wanted = new Set([...inodes].map((i) => `socket:[${i}]`))
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${d}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      try {
        if (wanted.has(readlinkSync(`/proc/${d}/fd/${fd}`))) return Number(d)
      } catch {
        // closed meanwhile
      }
    }
  }
  return 0
}

/** The stack's own server: found by its port, once (it is not restarted during a run). */
export const sharedNats = (url: string): NatsServer => {
  const { port } = hostPort(url, 4222)
  let pid: number | undefined
  return {
    url,
    pid: () => {
      pid ??= pidListeningOn(port)
      return pid
    },
    private: false,
  }
}
