import { join } from 'node:path'
import { connectNats, createLogger, updateEnvFile } from '@chatapp/kit'
import { type Child, signalGroup, spawnChild, stopChild } from './child.js'
import { bannerRow, prettyLine } from './pretty-log.js'
import { waitFor } from './probe.js'
import { provision } from './provision.js'
import { opsPortOf, readyz, SERVICE_ENTRY, SERVICE_KINDS } from './service-kinds.js'
import { defaultDataDir, ensureStack, repoRoot, stackEnv, stopSession } from './stack.js'

/** How long each service gets to drain after its one SIGTERM before it is killed. */
export const SERVICE_GRACE_MS = 15_000

/**
 * `make dev`: the whole system on this machine. Reuses or starts NATS, PostgreSQL and S3,
 * provisions the namespace, runs the three services with prefixed logs, and on Ctrl-C (or
 * SIGTERM) drains each service, then stops the daemons it started.
 */
export const runDev = async (): Promise<void> => {
  const log = (m: string) => console.log(`[infra] ${m}`)
  const session = 'dev'
  const dataDir = defaultDataDir()
  const envFile = join(dataDir, 'stack.env')
  let running: Record<string, string> | undefined
  // What this run added to the env file goes when it stops: the namespace no longer runs.
  const forget = (vars: Record<string, string>) => {
    if (!process.env.CHATAPP_ENV_FILE) updateEnvFile(envFile, {}, (k, v) => vars[k] === v)
  }
  const children: Child[] = []
  let stopping = false
  const stop = async (code: number) => {
    if (stopping) {
      // A second Ctrl-C: the operator does not want to wait for the drain.
      log('second signal: killing the services now')
      for (const c of children) signalGroup(c.process, 'SIGKILL')
      return
    }
    stopping = true
    log('stopping services…')
    await Promise.all(children.map((c) => stopChild(c.process, SERVICE_GRACE_MS)))
    if (running) forget(running)
    const stopped = await stopSession(session, dataDir)
    if (stopped.length > 0) log(`stopped ${stopped.join(', ')}`)
    process.exit(code)
  }
  process.on('SIGINT', () => void stop(0))
  process.on('SIGTERM', () => void stop(0))

  const stack = await ensureStack({ log, session })
  const { ns, shards, settings } = stack.config
  const nc = await connectNats(stack.natsUrl, 'infra-dev', createLogger('infra', 'warn'))
  await provision({ nc, databaseUrl: stack.databaseUrl, s3: stack.s3, ns, shards, settings })
  await nc.close()
  log(
    `provisioned namespace "${ns}" (${shards} shards, R${settings.replicas}) on ${stack.natsUrl}, ${stack.databaseUrl}, ${stack.s3.endpoint}`,
  )
  // Commands started while this runs (chatapp-ops, benchmarks) find its namespace here.
  running = { CHATAPP_NS: ns, CHATAPP_SHARDS: String(shards) }
  if (!process.env.CHATAPP_ENV_FILE) updateEnvFile(envFile, running)

  const env = {
    ...process.env,
    ...stackEnv(stack),
    CHATAPP_NS: ns,
    CHATAPP_SHARDS: String(shards),
    JWT_PRIVATE_KEY_FILE: process.env.JWT_PRIVATE_KEY_FILE || join(dataDir, 'keys/jwt-ed25519.pem'),
    // The AWS SDK warns on every start that releases after January 2027 need Node 22; our
    // versions are pinned, so the warning is noise in the logs.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  }
  const tty = process.stdout.isTTY === true
  SERVICE_KINDS.forEach((kind, i) => {
    const child = spawnChild({
      name: kind,
      command: process.execPath,
      args: [join(repoRoot, SERVICE_ENTRY[kind])],
      env,
      onLine: (l) => console.log(prettyLine(kind, i, l, tty)),
    })
    children.push(child)
    log(`${kind} started (pid ${child.pid})`)
    child.process.on('exit', (code, signal) => {
      if (stopping) return
      log(`${kind} exited (${signal ?? code}); stopping everything`)
      void stop(1)
    })
  })
  await Promise.all(
    SERVICE_KINDS.map((k) => waitFor(`${k} /readyz`, () => readyz(opsPortOf(k, process.env)), 60_000)),
  )
  const gw = `${process.env.GATEWAY_HOST || '127.0.0.1'}:${process.env.GATEWAY_PORT || 8080}`
  console.log(
    [
      '',
      'Chatapp is running. Every service answers /readyz.',
      '',
      `  Open http://${gw}/ in a browser to chat (register two users in two windows).`,
      '',
      bannerRow('WebSocket', `ws://${gw}/v1/ws`),
      bannerRow('HTTP API', `http://${gw}/v1/…   (docs/protocol.md)`),
      ...SERVICE_KINDS.map((k) =>
        bannerRow(k, `http://127.0.0.1:${opsPortOf(k, process.env)}/metrics  /healthz  /readyz`),
      ),
      bannerRow('NATS', stack.natsUrl),
      bannerRow('PostgreSQL', stack.databaseUrl),
      bannerRow('S3', stack.s3.endpoint),
      `Commands run elsewhere (chatapp-ops, make bench) find this stack in ${envFile}.`,
      'Ctrl-C stops everything this command started.',
      '',
    ].join('\n'),
  )
}
