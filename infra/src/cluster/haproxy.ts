import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tcpAnswers } from '../probe.js'
import { repoRoot } from '../stack.js'
import type { ProcessDef } from './process-set.js'

/** The committed production load balancer config: the local cluster runs it, adapted as below. */
export const PRODUCTION_HAPROXY_CONFIG = join(repoRoot, 'infra/deploy/haproxy.cfg')

export interface Backend {
  name: string
  /** The gateway's WebSocket and HTTP port. */
  port: number
  /** Its ops port, where the health check asks /readyz. */
  opsPort: number
}

/**
 * The production config with only what must differ on one machine: plain HTTP on a loopback
 * port instead of TLS on :443 (so `X-Forwarded-Proto` says http), the local gateways, each
 * health-checked on its own ops port, instead of the production servers, and a global `maxconn`
 * the machine's file-descriptor limit allows (haproxy refuses to start when it cannot reserve
 * two descriptors per connection). Everything else (balance, checks, timeouts, retries,
 * forwarding) is the production text, so `make cluster` exercises it. Throws when the production
 * file no longer has the shape this relies on, rather than running something else silently.
 */
export const localHaproxyConfig = (
  production: string,
  bindPort: number,
  backends: Backend[],
  fdLimit = Number.POSITIVE_INFINITY,
): string => {
  // Two descriptors per proxied connection, and some for listeners, checks and logs.
  const maxconnCap = Math.floor((fdLimit - 1000) / 2)
  let section = ''
  let bind = 0
  let proto = 0
  let inGateways = false
  let serversAt = -1
  const out: string[] = []
  for (const line of production.split('\n')) {
    const header = /^(global|defaults|frontend|backend|listen)\b\s*(\S*)/.exec(line)
    if (header) {
      section = header[1]!
      inGateways = section === 'backend' && header[2] === 'gateways'
    }
    const maxconn = /^(\s*)maxconn\s+(\d+)\s*$/.exec(line)
    if (section === 'global' && maxconn && Number(maxconn[2]) > maxconnCap) {
      out.push(`${maxconn[1]}maxconn ${maxconnCap}`)
    } else if (/^\s*bind\s/.test(line)) {
      bind++
      out.push(`    bind 127.0.0.1:${bindPort}`)
    } else if (/^\s*http-request set-header X-Forwarded-Proto https\s*$/.test(line)) {
      proto++
      out.push('    http-request set-header X-Forwarded-Proto http')
    } else if (inGateways && /^\s*server\s/.test(line)) {
      if (serversAt < 0) serversAt = out.length
    } else {
      out.push(line)
    }
  }
  if (bind !== 1 || proto !== 1 || serversAt < 0)
    throw new Error(
      'infra/deploy/haproxy.cfg changed shape: expected one bind line, the X-Forwarded-Proto header and servers in "backend gateways"',
    )
  out.splice(
    serversAt,
    0,
    ...backends.map((b) => `    server ${b.name} 127.0.0.1:${b.port} check port ${b.opsPort}`),
  )
  return out.join('\n')
}

/** The hard limit on open files a process started from here may raise its own to. */
export const hardFdLimit = (): number => {
  const out = execFileSync('/bin/sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()
  return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out)
}

export const haproxyDef = (
  bin: string,
  dir: string,
  port: number,
  backends: Backend[],
  logDir: string,
): ProcessDef => {
  mkdirSync(dir, { recursive: true })
  const config = join(dir, 'haproxy.cfg')
  const production = readFileSync(PRODUCTION_HAPROXY_CONFIG, 'utf8')
  writeFileSync(config, localHaproxyConfig(production, port, backends, hardFdLimit()))
  return {
    name: 'haproxy',
    kind: 'haproxy',
    ports: { http: port },
    urls: { http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/v1/ws` },
    command: bin,
    // -db: stay in the foreground, so the cluster owns the process (no pid file, no daemon).
    args: ['-db', '-f', config],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    logFile: join(logDir, 'haproxy.log'),
    ready: () => tcpAnswers('127.0.0.1', port),
    readyTimeoutMs: 15_000,
    graceMs: 5_000,
  }
}
