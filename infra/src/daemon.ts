import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Services the stack starts itself run detached, with a pid file and a log under .data/run and
 * .data/log, so they outlive the command that started them only until `infra stop` (or the
 * command's own Ctrl-C handler) stops them.
 */
export interface Daemon {
  name: string
  pid: number
  /** Where it listens, as recorded when it was started. */
  url: string | undefined
}

const runDir = (dataDir: string) => join(dataDir, 'run')
const pidFile = (dataDir: string, name: string) => join(runDir(dataDir), `${name}.pid`)
const urlFile = (dataDir: string, name: string) => join(runDir(dataDir), `${name}.url`)

export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export const readDaemon = (dataDir: string, name: string): Daemon | undefined => {
  const f = pidFile(dataDir, name)
  if (!existsSync(f)) return undefined
  const pid = Number(readFileSync(f, 'utf8').trim())
  const u = urlFile(dataDir, name)
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid))
    return { name, pid, url: existsSync(u) ? readFileSync(u, 'utf8').trim() : undefined }
  rmSync(f, { force: true })
  rmSync(u, { force: true })
  return undefined
}

export const startDaemon = (
  dataDir: string,
  name: string,
  url: string,
  command: string,
  args: string[],
  opts: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {},
): Daemon => {
  mkdirSync(runDir(dataDir), { recursive: true })
  mkdirSync(join(dataDir, 'log'), { recursive: true })
  const log = openSync(join(dataDir, 'log', `${name}.log`), 'a')
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', log, log],
    env: opts.env ?? process.env,
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  })
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`)
  child.unref()
  writeFileSync(pidFile(dataDir, name), String(child.pid))
  writeFileSync(urlFile(dataDir, name), url)
  return { name, pid: child.pid, url }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with what was stopped once the process is gone. */
export const stopDaemon = async (
  dataDir: string,
  name: string,
  graceMs = 10_000,
): Promise<Daemon | undefined> => {
  const d = readDaemon(dataDir, name)
  if (!d) return undefined
  try {
    process.kill(d.pid, 'SIGTERM')
  } catch {}
  const deadline = Date.now() + graceMs
  while (isAlive(d.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  if (isAlive(d.pid)) {
    try {
      process.kill(d.pid, 'SIGKILL')
    } catch {}
  }
  rmSync(pidFile(dataDir, name), { force: true })
  rmSync(urlFile(dataDir, name), { force: true })
  return d
}
