import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { parseOptions } from '../../src/core/options.js'
import type { RunResult } from '../../src/core/result.js'
import { runBenchmark } from '../../src/scenarios/run.js'

/** Runs one scenario as the CLI would, into a temporary directory; its exit code and JSON report. */
export const runScenario = async (
  t: Test,
  argv: string[],
): Promise<{ code: number; r: RunResult; html: number }> => {
  const out = mkdtempSync(join(tmpdir(), 'bench-test-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  const parsed = parseOptions([...argv, '--out', out], out)
  if (!parsed.ok) throw new Error(`options: ${JSON.stringify(parsed)}`)
  const code = await runBenchmark(parsed.options)
  const files = readdirSync(out)
  const json = files.find((f) => f.endsWith('.json'))
  if (!json) throw new Error(`no report written (exit ${code})`)
  return {
    code,
    r: JSON.parse(readFileSync(join(out, json), 'utf8')) as RunResult,
    html: files.filter((f) => f.endsWith('.html')).length,
  }
}
