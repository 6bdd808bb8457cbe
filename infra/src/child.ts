import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { createInterface } from 'node:readline'

/**
 * A process the stack runs for as long as it runs (a service, a cluster's nats-server or
 * haproxy), as opposed to a daemon it leaves running for other commands.
 *
 * Each child gets its own process group (and session), so the SIGINT a terminal sends to the
 * foreground group on Ctrl-C reaches the stack only; the stack then sends each child exactly one
 * SIGTERM. Without that, every service saw SIGINT from the terminal and SIGTERM from the stack
 * and took the second as "exit now", cutting its drain short. Where util-linux's `setpriv` is
 * present the child also gets SIGTERM when the stack dies without stopping it (kill -9), so no
 * process outlives the command that started it.
 */
export interface Child {
  name: string
  process: ChildProcess
  pid: number
}

export interface SpawnOptions {
  name: string
  command: string
  args: string[]
  env: NodeJS.ProcessEnv
  cwd?: string
  /** Every output line, as it comes (stdout and stderr). */
  onLine?: (line: string) => void
  /** Output is appended here as well (kept after the process dies, for post-mortems). */
  logFile?: string
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p))

const live = new Set<ChildProcess>()
let guarded = false

export const exited = (c: ChildProcess): boolean => c.exitCode !== null || c.signalCode !== null

export const spawnChild = (o: SpawnOptions): Child => {
  const [command, args] = SETPRIV
    ? [SETPRIV, ['--pdeathsig', 'TERM', '--', o.command, ...o.args]]
    : [o.command, o.args]
  const child = spawn(command, args, {
    env: o.env,
    cwd: o.cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (child.pid === undefined) throw new Error(`could not start ${o.name} (${o.command})`)
  let file: ReturnType<typeof createWriteStream> | undefined
  if (o.logFile) {
    mkdirSync(dirname(o.logFile), { recursive: true })
    file = createWriteStream(o.logFile, { flags: 'a' })
    child.once('close', () => file?.end())
  }
  for (const stream of [child.stdout!, child.stderr!]) {
    if (file) stream.pipe(file, { end: false })
    if (o.onLine) createInterface({ input: stream }).on('line', o.onLine)
  }
  live.add(child)
  child.once('exit', () => live.delete(child))
  if (!guarded) {
    guarded = true
    // A crash of the stack's own code (an uncaught error, process.exit) still takes its children along.
    process.once('exit', () => {
      for (const c of live) signalGroup(c, 'SIGKILL')
    })
  }
  return { name: o.name, process: child, pid: child.pid }
}

/** The whole group: a media worker's ffmpeg dies with it, as on a real machine. */
export const signalGroup = (c: ChildProcess, signal: NodeJS.Signals): void => {
  if (c.pid === undefined || exited(c)) return
  try {
    process.kill(-c.pid, signal)
  } catch {
    try {
      c.kill(signal)
    } catch {}
  }
}

export const waitExit = (c: ChildProcess, timeoutMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    if (exited(c)) return resolve(true)
    const timer = setTimeout(() => resolve(false), timeoutMs)
    c.once('exit', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })

/**
 * One SIGTERM, then up to `graceMs` for the process to drain and exit; SIGKILL (to its group)
 * only after that. Resolves once it is gone; true when it exited on its own.
 */
export const stopChild = async (c: ChildProcess, graceMs = 15_000): Promise<boolean> => {
  if (exited(c)) return true
  c.kill('SIGTERM')
  if (await waitExit(c, graceMs)) return true
  signalGroup(c, 'SIGKILL')
  await waitExit(c, 5_000)
  return false
}

/** kill -9 of the process and its group; resolves once it is gone. */
export const killChild = async (c: ChildProcess): Promise<void> => {
  signalGroup(c, 'SIGKILL')
  await waitExit(c, 5_000)
}
