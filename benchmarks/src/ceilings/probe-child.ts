import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/**
 * A probe script as built: `dist/ceilings/<file>` beside this module's own build (tests running
 * the TypeScript sources still start the built probe, which is plain JavaScript).
 */
export const builtProbe = (file: string): string =>
  fileURLToPath(new URL(`./${file}`, import.meta.url)).replace(/\/src\/(?=ceilings\/[^/]+$)/, '/dist/')

/**
 * Runs a probe script in its own Node process; `line` resolves with the first line of its output
 * matching `want`, or rejects when it exits without one (with the error it printed) or gives none
 * within `boundMs`. `label` names it in those errors.
 */
export const runProbe = (label: string, probe: string, args: string[], want: RegExp, boundMs: number) => {
  const child = spawn(process.execPath, [probe, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  // What it said on stderr, for the error when it gives no result (its first 2,000 characters).
  let said = ''
  child.stderr!.on('data', (d: Buffer) => {
    if (said.length < 2000) said += d.toString('utf8')
  })
  const orphanGuard = () => child.kill('SIGKILL')
  process.once('exit', orphanGuard)
  child.once('exit', () => process.off('exit', orphanGuard))
  const line = new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${label} gave no result in ${boundMs} ms`))
    }, boundMs)
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const m = want.exec(l)
      if (m) {
        clearTimeout(timer)
        resolve(m)
      }
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      // A crash prints its stack and more after the error's own line: that line says why.
      const lines = said.trim().split('\n').filter(Boolean)
      const why = lines.find((l) => /Error/.test(l)) ?? lines.at(-1) ?? ''
      reject(new Error(`${label} exited (${code}) without a result${why ? `: ${why}` : ''}`))
    })
  })
  return { line, kill: () => child.kill('SIGKILL') }
}
