import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type ProcessStall, parseStallLine } from '../core/stall.js'

// Processes always load the built recorder (also when a test imports this file from src).
const RECORDER = fileURLToPath(new URL('../diagnostics/stall-recorder.js', import.meta.url)).replace(
  /\/src\/(?=diagnostics\/stall-recorder\.js$)/,
  '/dist/',
)

/** The node flags and environment that make a process record its stalls into `dir` as `label`. */
export const stallRecording = (
  dir: string,
  label: string,
): { nodeArgs: string[]; env: Record<string, string> } => ({
  nodeArgs: ['--import', RECORDER],
  env: { BENCH_STALL_DIR: dir, BENCH_STALL_LABEL: label },
})

/** Every record in `dir`, each named by its file's label (`<label>.<pid>.jsonl`). */
export const readStalls = (dir: string): ProcessStall[] => {
  if (!existsSync(dir)) return []
  const out: ProcessStall[] = []
  for (const f of readdirSync(dir)) {
    const m = /^(.+)\.\d+\.jsonl$/.exec(f)
    if (!m) continue
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const r = line ? parseStallLine(line) : undefined
      if (r) out.push({ ...r, process: m[1]! })
    }
  }
  return out
}
