import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultDataDir } from '../stack.js'
import { ensureCommand, findExecutable } from '../system-packages.js'

/**
 * The nats-server the production shape runs (ADR 0112): Debian 13's build of 2.10.27, the first
 * Debian release of a server that has `sync_interval: always` and the 2.10.23+ fixes to stream
 * replication after a node loss. Debian 12 (this project's base) ships 2.9.10, on which the chaos
 * run forks streams when a leader is killed (replicas holding different events at one sequence):
 * the fault the production config exists to prevent. The binary links only libc, so Debian 13's
 * package runs on Debian 12; it is fetched from Debian's archive, checked against this digest and
 * unpacked under the data directory — nothing is installed system-wide.
 */
export const PRODUCTION_NATS_SERVER = {
  version: '2.10.27',
  debPath: 'pool/main/n/nats-server/nats-server_2.10.27-1+b2_amd64.deb',
  sha256: '6d913ac987b78734c08537c2adeb1526cf735f216173a9170d94b185fcfe6f8a',
} as const

const MIRROR = 'http://deb.debian.org/debian'

/**
 * The nats-server binary for a production-shaped cluster: `NATS_SERVER_BIN` when set; else the
 * cached Debian 13 build; else that build fetched now (amd64 only); else — no network, another
 * architecture — the system's nats-server, whose missing settings the caller names.
 */
export const productionNatsServer = async (log: (m: string) => void): Promise<string> => {
  const fromEnv = process.env.NATS_SERVER_BIN
  if (fromEnv) return fromEnv
  const dir = join(defaultDataDir(), 'bin')
  const bin = join(dir, `nats-server-${PRODUCTION_NATS_SERVER.version}`)
  if (existsSync(bin)) return bin
  if (process.arch !== 'x64' || !findExecutable('dpkg-deb'))
    return ensureCommand('nats-server', 'nats-server', log)
  try {
    const url = `${process.env.DEBIAN_MIRROR ?? MIRROR}/${PRODUCTION_NATS_SERVER.debPath}`
    log(`fetching nats-server ${PRODUCTION_NATS_SERVER.version} (Debian 13's package) from ${url}`)
    const res = await fetch(url, { signal: AbortSignal.timeout(120_000) })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    const deb = Buffer.from(await res.arrayBuffer())
    const digest = createHash('sha256').update(deb).digest('hex')
    if (digest !== PRODUCTION_NATS_SERVER.sha256)
      throw new Error(`sha256 ${digest}, expected ${PRODUCTION_NATS_SERVER.sha256}`)
    const tmp = mkdtempSync(join(tmpdir(), 'chatapp-nats-deb-'))
    try {
      writeFileSync(join(tmp, 'p.deb'), deb)
      execFileSync('dpkg-deb', ['-x', join(tmp, 'p.deb'), join(tmp, 'x')])
      mkdirSync(dir, { recursive: true })
      // Copied under a temporary name first: a concurrent start never runs a half-written file.
      const part = `${bin}.${process.pid}.part`
      copyFileSync(join(tmp, 'x/usr/sbin/nats-server'), part)
      chmodSync(part, 0o755)
      renameSync(part, bin)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
    return bin
  } catch (err) {
    log(
      `could not fetch nats-server ${PRODUCTION_NATS_SERVER.version} (${err instanceof Error ? err.message : String(err)}); using the system's`,
    )
    return ensureCommand('nats-server', 'nats-server', log)
  }
}
