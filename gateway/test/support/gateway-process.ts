import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { TestNamespace } from '@chatapp/infra'

export interface GatewayProcess {
  proc: ChildProcess
  port: number
  /** `http://127.0.0.1:<port>` */
  base: string
  /** SIGTERM, then resolves when the process has exited; also removes its key directory. */
  stop(): Promise<void>
}

/**
 * The gateway as it is deployed (`dist/main.js`, configured by the environment only), on the test
 * namespace: accounts, HTTP plumbing and the WebSocket upgrade on one port. `env` overrides
 * settings (limits a test wants small); `privateKeyPem` shares a signing key with in-process
 * gateways (one is made otherwise). Resolves once it logged `gateway started`.
 */
export const startGatewayProcess = async (
  tn: TestNamespace,
  env: Record<string, string> = {},
  o: { privateKeyPem?: string } = {},
): Promise<GatewayProcess> => {
  const keys = await mkdtemp(join(tmpdir(), 'chatapp-gw-keys-'))
  if (o.privateKeyPem) await writeFile(join(keys, 'jwt.pem'), o.privateKeyPem)
  const proc = spawn(process.execPath, [new URL('../../dist/main.js', import.meta.url).pathname], {
    env: {
      ...process.env,
      ...tn.env,
      GATEWAY_PORT: '0',
      GATEWAY_OPS_PORT: '0',
      JWT_PRIVATE_KEY_FILE: join(keys, 'jwt.pem'),
      PUSH_VAPID_KEY_FILE: join(keys, 'vapid.pem'),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  proc.stderr!.on('data', (d) => {
    stderr += d
  })
  const port = await new Promise<number>((resolve, reject) => {
    // Killed before the rejection: a child left starting would outlive the test file.
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`gateway did not start in 30 s: ${stderr}`))
    }, 30_000)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`gateway exited with ${code}: ${stderr}`))
    })
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number }
        if (entry.msg === 'gateway started' && entry.port) {
          clearTimeout(timer)
          resolve(entry.port)
        }
      } catch {
        // not a log line
      }
    })
  })
  return {
    proc,
    port,
    base: `http://127.0.0.1:${port}`,
    stop: async () => {
      // A process killed by a signal has no exit code, only its signal.
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
        proc.kill('SIGTERM')
        await exited
      }
      await rm(keys, { recursive: true, force: true })
    },
  }
}
