import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Child,
  createTestNamespace,
  findChromium,
  repoRoot,
  SERVICE_ENTRY,
  type ServiceKind,
  signalGroup,
  spawnChild,
  stopChild,
  type TestNamespace,
} from '@chatapp/infra'

/**
 * The system as `make dev` runs it — gateway (serving the built web app), projector and media
 * worker as their own processes, from their builds — on a test namespace of the shared services.
 * Resolves once each service logged that it started; `base` is the page's URL.
 */
export interface WebStack {
  tn: TestNamespace
  base: string
  chromium: string
  stop(): Promise<void>
}

const STARTED: Record<ServiceKind, string> = {
  gateway: '"gateway started"',
  projector: '"projector started"',
  'media-worker': '"media-worker started"',
}

export const startWebStack = async (): Promise<WebStack> => {
  const chromium = findChromium()
  if (!chromium) throw new Error('chromium is not installed: run `node infra/dist/cli.js ensure --browser`')
  const tn = await createTestNamespace()
  const keys = await mkdtemp(join(tmpdir(), 'chatapp-web-keys-'))
  const children: Child[] = []
  let port = 0
  const env = {
    ...process.env,
    ...tn.env,
    GATEWAY_PORT: '0',
    GATEWAY_OPS_PORT: '0',
    PROJECTOR_OPS_PORT: '0',
    MEDIA_WORKER_OPS_PORT: '0',
    PROJECTOR_LINGER_MS: '0',
    JWT_PRIVATE_KEY_FILE: join(keys, 'jwt.pem'),
    // As `make dev`: the allowlist is the default; the page is allowed as the gateway's own origin.
    ALLOWED_ORIGINS: 'http://example.invalid',
    // Every person registers and logs in from the same address here.
    AUTH_RATE_BURST: '100',
    LOG_LEVEL: 'info',
  }
  const stop = async () => {
    await Promise.all(children.map((c) => stopChild(c.process, 10_000)))
    await rm(keys, { recursive: true, force: true })
    await tn.cleanup()
  }
  try {
    await Promise.all(
      (['projector', 'media-worker', 'gateway'] as const).map(
        (kind) =>
          new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${kind} did not start in 30 s`)), 30_000)
            const child = spawnChild({
              name: kind,
              command: process.execPath,
              args: [join(repoRoot, SERVICE_ENTRY[kind])],
              env,
              onLine: (line) => {
                if (process.env.WEB_TEST_LOGS) console.error(`[${kind}] ${line}`)
                if (!line.includes(STARTED[kind])) return
                if (kind === 'gateway') port = (JSON.parse(line) as { port: number }).port
                clearTimeout(timer)
                resolve()
              },
            })
            children.push(child)
            child.process.once('exit', (code) => reject(new Error(`${kind} exited with ${code}`)))
          }),
      ),
    )
  } catch (err) {
    for (const c of children) signalGroup(c.process, 'SIGKILL')
    await stop()
    throw err
  }
  return { tn, base: `http://127.0.0.1:${port}`, chromium, stop }
}
