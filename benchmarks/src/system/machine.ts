import { execFileSync } from 'node:child_process'
import { cpus, loadavg, platform, release, totalmem } from 'node:os'
import type { Machine } from '../core/result.js'

export const machineInfo = (): Machine => ({
  cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
  cores: cpus().length,
  memBytes: totalmem(),
  node: process.version,
  os: `${platform()} ${release()}`,
  loadAvgStart: loadavg()[0] ?? 0,
})

/** The commit under test, with `-dirty` when the working tree has changes. */
export const gitCommit = (cwd: string): string => {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd,
      encoding: 'utf8',
    })
    return dirty.trim() ? `${sha}-dirty` : sha
  } catch {
    return 'unknown'
  }
}
