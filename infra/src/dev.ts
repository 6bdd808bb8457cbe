import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { connectNats, createLogger } from '@chatapp/kit'
import { waitFor } from './probe.js'
import { provision } from './provision.js'
import { defaultDataDir, ensureStack, repoRoot, stackEnv, stopSession } from './stack.js'

interface ServiceDef {
  name: string
  entry: string
  opsPortVar: string
  opsPort: number
}

const SERVICES: ServiceDef[] = [
  { name: 'gateway', entry: 'gateway/dist/main.js', opsPortVar: 'GATEWAY_OPS_PORT', opsPort: 9100 },
  { name: 'projector', entry: 'projector/dist/main.js', opsPortVar: 'PROJECTOR_OPS_PORT', opsPort: 9101 },
  {
    name: 'media-worker',
    entry: 'media-worker/dist/main.js',
    opsPortVar: 'MEDIA_WORKER_OPS_PORT',
    opsPort: 9102,
  },
]

const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m']
const RESET = '\x1b[0m'
const tty = process.stdout.isTTY

/** pino lines become `12:00:01 gateway  info  message {extra}`; anything else is printed as it came. */
const pretty = (name: string, color: string, line: string): string => {
  const tag = tty ? `${color}${name.padEnd(12)}${RESET}` : name.padEnd(12)
  try {
    const { time, level, msg, service: _s, pid: _p, hostname: _h, ...rest } = JSON.parse(line)
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : ''
    return `${String(time ?? '').slice(11, 19)} ${tag} ${String(level).padEnd(5)} ${msg ?? ''}${extra}`
  } catch {
    return `         ${tag} ${line}`
  }
}

const readyz = async (port: number): Promise<boolean> => {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`)
    return r.status === 200
  } catch {
    return false
  }
}

/**
 * `make dev`: the whole system on this machine. Reuses or starts NATS, PostgreSQL and S3,
 * provisions the namespace, runs the three services with prefixed logs, and on Ctrl-C stops
 * everything it started.
 */
export const runDev = async (): Promise<void> => {
  const log = (m: string) => console.log(`[infra] ${m}`)
  const session = 'dev'
  const stack = await ensureStack({ log, session })
  const ns = process.env.CHATAPP_NS || 'chatapp'
  const shards = Number(process.env.CHATAPP_SHARDS || 8)
  const nc = await connectNats(stack.natsUrl, 'infra-dev', createLogger('infra', 'warn'))
  await provision({ nc, databaseUrl: stack.databaseUrl, s3: stack.s3, ns, shards })
  await nc.close()
  log(
    `provisioned namespace "${ns}" (${shards} shards) on ${stack.natsUrl}, ${stack.databaseUrl}, ${stack.s3.endpoint}`,
  )

  const children: ChildProcess[] = []
  let stopping = false
  const stop = async (code: number) => {
    if (stopping) return
    stopping = true
    log('stopping services…')
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve()
            c.once('exit', () => resolve())
            c.kill('SIGTERM')
            setTimeout(() => c.kill('SIGKILL'), 12_000).unref()
          }),
      ),
    )
    const stopped = await stopSession(session, defaultDataDir())
    if (stopped.length > 0) log(`stopped ${stopped.join(', ')}`)
    process.exit(code)
  }
  process.on('SIGINT', () => void stop(0))
  process.on('SIGTERM', () => void stop(0))

  const env = {
    ...process.env,
    ...stackEnv(stack),
    CHATAPP_NS: ns,
    CHATAPP_SHARDS: String(shards),
    JWT_PRIVATE_KEY_FILE: process.env.JWT_PRIVATE_KEY_FILE || join(defaultDataDir(), 'keys/jwt-ed25519.pem'),
    // The AWS SDK warns on every start that releases after January 2027 need Node 22; our
    // versions are pinned, so the warning is noise in the logs.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  }
  SERVICES.forEach((s, i) => {
    const child = spawn(process.execPath, [join(repoRoot, s.entry)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (l) => console.log(pretty(s.name, COLORS[i]!, l)))
    }
    child.on('exit', (code, signal) => {
      if (stopping) return
      log(`${s.name} exited (${signal ?? code}); stopping everything`)
      void stop(1)
    })
  })
  const opsPort = (s: ServiceDef) => Number(process.env[s.opsPortVar] || s.opsPort)
  await Promise.all(SERVICES.map((s) => waitFor(`${s.name} /readyz`, () => readyz(opsPort(s)), 60_000)))
  const gw = `${process.env.GATEWAY_HOST || '127.0.0.1'}:${process.env.GATEWAY_PORT || 8080}`
  console.log(
    [
      '',
      'Chatapp is running. Every service answers /readyz.',
      `  WebSocket   ws://${gw}/v1/ws`,
      `  HTTP API    http://${gw}/v1/…   (docs/protocol.md)`,
      ...SERVICES.map(
        (s) => `  ${s.name.padEnd(12)}http://127.0.0.1:${opsPort(s)}/metrics  /healthz  /readyz`,
      ),
      `  NATS ${stack.natsUrl}   PostgreSQL ${stack.databaseUrl}   S3 ${stack.s3.endpoint}`,
      'Ctrl-C stops everything this command started.',
      '',
    ].join('\n'),
  )
}
