import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** Finds an executable on PATH or in the extra directories given (first match wins). */
export const findExecutable = (name: string, extraDirs: string[] = []): string | undefined => {
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    ...extraDirs,
    '/usr/sbin',
    '/usr/local/sbin',
    '/sbin',
  ]
  for (const d of dirs) {
    const p = join(d, name)
    if (d && existsSync(p)) return p
  }
  return undefined
}

/** PostgreSQL's server binaries live outside PATH on Debian: /usr/lib/postgresql/<major>/bin. */
export const postgresBinDirs = (): string[] => {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return []
  return readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'))
}

let aptUpdated = false

const canApt = (): boolean => process.getuid?.() === 0 && findExecutable('apt-get') !== undefined

/**
 * Makes sure a command exists, installing its Debian package when apt is usable (as root); any
 * other machine gets an error that names the package to install, rather than a half-started stack.
 */
export const ensureCommand = (
  command: string,
  debPackage: string,
  log: (msg: string) => void,
  extraDirs: () => string[] = () => [],
): string => {
  const found = findExecutable(command, extraDirs())
  if (found) return found
  if (!canApt()) {
    throw new Error(
      `${command} is not installed: install the Debian package "${debPackage}" (apt-get install ${debPackage})`,
    )
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  // apt's output goes to stderr: stdout may be a protocol (a test's TAP stream, where apt's
  // progress lines once made the cluster test read as "no tests found", a skip counted as a pass).
  const stdio: ['ignore', number, number] = ['ignore', 2, 2]
  if (!aptUpdated) {
    log(`apt-get update (to install ${debPackage})`)
    spawnSync('apt-get', ['update', '-qq'], { stdio, env })
    aptUpdated = true
  }
  log(`apt-get install ${debPackage}`)
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', debPackage], {
    stdio,
    env,
  })
  const installed = findExecutable(command, extraDirs())
  if (!installed) throw new Error(`installed ${debPackage} but ${command} is still not found`)
  return installed
}
