import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { formatEnvFile } from '@chatapp/kit'
import { bannerRow, prettyLine } from '../pretty-log.js'
import { defaultDataDir } from '../stack.js'
import { type Cluster, startCluster } from './cluster.js'

const positive = (name: string): number | undefined => {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${raw}: expected a positive integer`)
  return n
}

/**
 * `make cluster`: the production layout on this machine, in the foreground. Service logs are
 * printed with their process name; nats-server and haproxy write to files only (named in the
 * banner). Ctrl-C stops everything it started. State is kept under .data/cluster/.
 */
export const runCluster = async (): Promise<void> => {
  const log = (m: string) => console.log(`[cluster] ${m}`)
  const dataDir = join(defaultDataDir(), 'cluster')
  const envFile = join(defaultDataDir(), 'cluster.env')
  const tty = process.stdout.isTTY === true
  const colors = new Map<string, number>()
  let cluster: Cluster | undefined
  let stopping = false
  const stop = async (code: number) => {
    if (stopping) return log('still stopping: each service has 15 s to drain')
    stopping = true
    log('stopping: services, then haproxy, then NATS…')
    await cluster?.stop()
    rmSync(envFile, { force: true })
    log('stopped')
    process.exit(code)
  }
  process.on('SIGINT', () => void stop(0))
  process.on('SIGTERM', () => void stop(0))

  const replicas = positive('NATS_REPLICAS')
  const shards = positive('CHATAPP_SHARDS')
  const window = positive('NATS_DUPLICATE_WINDOW_MS')
  cluster = await startCluster({
    dataDir,
    ...(process.env.CHATAPP_NS ? { ns: process.env.CHATAPP_NS } : {}),
    ...(shards ? { shards } : {}),
    ...(replicas ? { replicas } : {}),
    ...(window ? { duplicateWindowMs: window } : {}),
    logLevel: process.env.LOG_LEVEL || 'info',
    log,
    onLine: (name, line) => {
      if (name.startsWith('nats-') || name === 'haproxy') return
      if (!colors.has(name)) colors.set(name, colors.size)
      console.log(prettyLine(name, colors.get(name)!, line, tty))
    },
    onExit: (name, code, signal) =>
      log(`${name} exited (${signal ?? code}); the rest of the cluster keeps running`),
  })
  writeFileSync(envFile, formatEnvFile(cluster.env))
  const c = cluster
  const projector = c.processes.find((p) => p.kind === 'projector')
  console.log(
    [
      '',
      `Chatapp cluster "${c.ns}" is running (${c.shards} shards, R3 streams and KV).`,
      bannerRow(
        'HTTP API',
        `${c.httpUrl}/v1/…   (haproxy → ${c.processes.filter((p) => p.kind === 'gateway').length} gateways)`,
      ),
      bannerRow('WebSocket', c.wsUrl),
      ...c.processes.map((p) =>
        bannerRow(
          p.name,
          `pid ${p.pid}  ${Object.entries(p.urls)
            .map(([k, v]) => `${k} ${v}`)
            .join('  ')}`,
        ),
      ),
      bannerRow('NATS_URL', c.natsUrl),
      bannerRow('logs', join(c.dataDir, 'log')),
      `Its environment is in ${envFile}:`,
      `  CHATAPP_ENV_FILE=${envFile} node projector/dist/cli.js lag`,
      `  npm run bench -- quick --gateway-url ${c.httpUrl}${projector ? ` --projector-metrics-url ${projector.urls.ops}/metrics` : ''}`,
      'Ctrl-C stops everything this command started.',
      '',
    ].join('\n'),
  )
}
