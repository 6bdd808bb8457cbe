import { spawn } from 'node:child_process'
import { PermanentFailure } from './failure.js'

/**
 * Runs ffmpeg/ffprobe under bounds: a wall-clock limit (SIGKILL when exceeded), an address-space
 * limit through `prlimit` when the system has it, no stdin, no shell. Hostile input must cost at
 * most these bounds, never the worker.
 */
export interface RunLimits {
  timeoutMs: number
  /** Address-space cap in bytes (prlimit --as); 0 for none. */
  memoryBytes: number
  /** Path of `prlimit`, or undefined when the system has none. */
  prlimit: string | undefined
  /** Largest stdout kept, in bytes. */
  maxOutputBytes?: number
}

export interface RunResult {
  stdout: Buffer
  stderr: string
}

/** Runs `bin args`; rejects with PermanentFailure MEDIA_TIMEOUT on timeout, a plain Error on a non-zero exit. */
export const runBounded = (
  bin: string,
  args: readonly string[],
  limits: RunLimits,
  onStdout?: (chunk: Buffer) => void,
): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const [cmd, argv] =
      limits.prlimit && limits.memoryBytes > 0
        ? [limits.prlimit, [`--as=${limits.memoryBytes}`, '--', bin, ...args]]
        : [bin, [...args]]
    const child = spawn(cmd, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '' },
    })
    const out: Buffer[] = []
    let outBytes = 0
    let stderr = ''
    let timedOut = false
    const max = limits.maxOutputBytes ?? 16 * 1024 * 1024
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, limits.timeoutMs)
    child.stdout.on('data', (c: Buffer) => {
      if (onStdout) return onStdout(c)
      outBytes += c.length
      if (outBytes <= max) out.push(c)
    })
    child.stderr.on('data', (c: Buffer) => {
      // The tail of stderr is what explains a failure; keep it bounded.
      stderr = (stderr + c.toString('utf8')).slice(-4000)
    })
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (timedOut) {
        reject(
          new PermanentFailure('MEDIA_TIMEOUT', `${bin.split('/').pop()} exceeded ${limits.timeoutMs} ms`),
        )
        return
      }
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr })
      else
        reject(
          Object.assign(
            new Error(`${bin.split('/').pop()} exited ${code ?? signal}: ${stderr.trim().slice(-500)}`),
            {
              exitCode: code,
              signal,
            },
          ),
        )
    })
  })
