import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * The bounds of every ffmpeg and ffprobe run live in a launcher: a two-line shell script that the
 * ffmpeg wrapper library is given as "the ffmpeg binary". It is the only way to bound runs the
 * library spawns itself (its ffprobe gives us no process handle at all), and it keeps the bounds
 * independent of the library, which can then be replaced without touching them:
 *
 *   exec env -i PATH=…  prlimit --as=<bytes> --  timeout --signal=KILL <seconds>  ffmpeg "$@"
 *
 * - `env -i`: the tool inherits nothing of the worker's environment (S3 and NATS credentials,
 *   FFREPORT, proxies), only PATH.
 * - `prlimit --as`: an address-space cap inherited by the tool (when util-linux is present).
 * - `timeout --signal=KILL`: coreutils puts itself in a new process group and, at the deadline,
 *   sends SIGKILL to the tool and then to the whole group, so nothing the tool started survives
 *   it; ffmpeg blocked in open() or read() (a FIFO, a stalled mount) cannot ignore SIGKILL.
 *   The launcher's pid is that group's id: `process.kill(-pid, 'SIGKILL')` ends the same tree.
 * - Arguments pass through `"$@"` untouched: no shell ever parses them.
 */
export interface LauncherConfig {
  /** Absolute paths of the real tools. */
  ffmpeg: string
  ffprobe: string
  /** Wall-clock bound of one run. */
  timeoutMs: number
  /** Address-space cap in bytes; 0 for none. */
  memoryBytes: number
  /** Absolute paths of `prlimit` (optional: without it there is no memory bound), `timeout`, `env`. */
  prlimit: string | undefined
  timeout: string
  env: string
  /** PATH the tools see. */
  path: string
}

export interface Launchers {
  /** Executables that run ffmpeg and ffprobe under the bounds. */
  ffmpeg: string
  ffprobe: string
  config: LauncherConfig
  close(): Promise<void>
}

/** POSIX single quoting: the only character to escape inside '…' is ' itself. */
export const shQuote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`

export const launcherScript = (c: LauncherConfig, tool: string): string => {
  if (!(c.timeoutMs > 0)) throw new Error(`timeoutMs must be positive, got ${c.timeoutMs}`)
  if (!Number.isSafeInteger(c.memoryBytes) || c.memoryBytes < 0)
    throw new Error(`memoryBytes must be a non-negative integer, got ${c.memoryBytes}`)
  const memory =
    c.prlimit && c.memoryBytes > 0 ? [shQuote(c.prlimit), shQuote(`--as=${c.memoryBytes}`), '--'] : []
  const seconds = (c.timeoutMs / 1000).toFixed(3)
  return [
    '#!/bin/sh',
    '# Written by @chatapp/media-worker (src/launcher.ts): one bounded run of the tool below.',
    [
      'exec',
      shQuote(c.env),
      '-i',
      shQuote(`PATH=${c.path}`),
      ...memory,
      shQuote(c.timeout),
      '--signal=KILL',
      shQuote(seconds),
      shQuote(tool),
      '"$@"',
    ].join(' '),
    '',
  ].join('\n')
}

/** Writes the two launchers into a private (0700) directory; `close()` removes it. */
export const writeLaunchers = async (c: LauncherConfig, root = tmpdir()): Promise<Launchers> => {
  const dir = await mkdtemp(join(root, 'ff-launch-'))
  const write = async (name: string, tool: string) => {
    const file = join(dir, name)
    await writeFile(file, launcherScript(c, tool), { mode: 0o700 })
    await chmod(file, 0o700)
    return file
  }
  return {
    ffmpeg: await write('ffmpeg', c.ffmpeg),
    ffprobe: await write('ffprobe', c.ffprobe),
    config: c,
    close: () => rm(dir, { recursive: true, force: true }),
  }
}
