import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { HealthResponse } from '@chatapp/contracts'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { heapAfterGc } from './heap-after-gc.js'
import { heapSnapshot } from './heap-snapshot.js'
import type { Logger } from './logger.js'
import { allocationProfile, cpuProfile, MAX_PROFILE_SECONDS } from './profiles.js'

/** A dependency check: true when the connection is up. Must answer quickly and never throw. */
export type ReadinessCheck = () => boolean | Promise<boolean>

export interface OpsServer {
  readonly registry: Registry
  readonly port: number
  /** Marks the process as draining: /readyz answers 503 so load balancers stop sending work. */
  setDraining(): void
  close(): Promise<void>
}

export interface OpsOptions {
  service: string
  host: string
  port: number
  log: Logger
  checks: Record<string, ReadinessCheck>
  registry?: Registry
}

const CHECK_TIMEOUT_MS = 1000

const runCheck = async (check: ReadinessCheck): Promise<'up' | 'down'> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS)
  })
  try {
    return (await Promise.race([Promise.resolve().then(check), timeout])) ? 'up' : 'down'
  } catch {
    return 'down'
  } finally {
    clearTimeout(timer)
  }
}

/**
 * `/healthz` (the process runs), `/readyz` (every dependency is up and the process is not
 * draining), `/metrics` (Prometheus), `/debug/cpu-profile?seconds=N` (a V8 CPU profile of the
 * next N seconds), `/debug/allocation-profile?seconds=N` (where it allocates over the next N
 * seconds, garbage included), `/debug/heap` (memory after a full GC) and `/debug/heap-snapshot` (what that
 * memory is made of), on a port of their own so they never queue behind client traffic. The ops port
 * listens on `OPS_HOST` (loopback by default): it is for operators, not for the internet.
 */
export const startOpsServer = async (o: OpsOptions): Promise<OpsServer> => {
  const registry = o.registry ?? new Registry()
  registry.setDefaultLabels({ service: o.service })
  collectDefaultMetrics({ register: registry })
  let draining = false

  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: HealthResponse) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(JSON.stringify(body))
    }
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET') {
      res.writeHead(405).end()
      return
    }
    if (path === '/healthz') {
      reply(200, { status: 'ok', service: o.service, checks: {} })
      return
    }
    if (path === '/readyz') {
      const names = Object.keys(o.checks)
      Promise.all(names.map((n) => runCheck(o.checks[n]!))).then((results) => {
        const checks = Object.fromEntries(names.map((n, i) => [n, results[i]!]))
        if (draining) checks.draining = 'down'
        const ok = !draining && results.every((r) => r === 'up')
        reply(ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', service: o.service, checks })
      })
      return
    }
    if (path === '/debug/cpu-profile' || path === '/debug/allocation-profile') {
      const seconds = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('seconds') ?? '10')
      if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_PROFILE_SECONDS) {
        res.writeHead(400).end(`seconds must be in (0, ${MAX_PROFILE_SECONDS}]`)
        return
      }
      ;(path === '/debug/cpu-profile' ? cpuProfile : allocationProfile)(seconds).then(
        (json) => {
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          res.end(json)
        },
        (err: unknown) => {
          res.writeHead(409).end(err instanceof Error ? err.message : String(err))
        },
      )
      return
    }
    if (path === '/debug/heap') {
      // A full GC stops the process for a moment (tens of ms on a large heap): operators only.
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(JSON.stringify(heapAfterGc()))
      return
    }
    if (path === '/debug/heap-snapshot') {
      // Stops the process for as long as V8 takes to write it (seconds for a large heap).
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      heapSnapshot().pipe(res)
      return
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType })
          res.end(text)
        },
        (err: unknown) => {
          o.log.error({ err }, 'metrics collection failed')
          res.writeHead(500).end()
        },
      )
      return
    }
    res.writeHead(404).end()
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  o.log.info({ port, host: o.host }, 'ops endpoints listening (/healthz /readyz /metrics)')
  return {
    registry,
    port,
    setDraining: () => {
      draining = true
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
