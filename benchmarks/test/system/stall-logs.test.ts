import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { readStalls, stallRecording } from '../../src/system/stall-logs.js'

// A process that holds its event loop 120 ms once, after its timers began.
const BLOCKER =
  'setTimeout(() => { const t = Date.now(); while (Date.now() - t < 120); setTimeout(() => {}, 30) }, 30)'

t.test(
  'a process started with the recording records that it was, and its event loop held for 120 ms',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'stalls-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const rec = stallRecording(dir, 'blocker')
    const before = Date.now()
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [...rec.nodeArgs, '-e', BLOCKER], {
        env: { ...process.env, ...rec.env },
        stdio: 'inherit',
      })
      child.on('exit', resolve)
    })
    t.equal(code, 0, 'the recorder does not change how the process ends')
    const files = readdirSync(dir)
    t.equal(files.length, 1)
    t.match(files[0], /^blocker\.\d+\.jsonl$/)
    t.match(
      readFileSync(join(dir, files[0]!), 'utf8'),
      /^\{"k":"start"/,
      'its first line says it was recorded',
    )
    const blocks = readStalls(dir).filter((s) => s.k === 'block')
    t.ok(
      blocks.some((b) => b.ms >= 100 && b.ms < 1000 && b.at >= before - 5),
      `a block of about 120 ms, on the wall clock: ${JSON.stringify(blocks)}`,
    )
    t.ok(
      blocks.every((b) => b.ms >= 10),
      'nothing under the threshold',
    )
    t.ok(
      readStalls(dir).every((s) => s.process === 'blocker'),
      'named by its label',
    )
  },
)

t.test('no directory: no stalls', async (t) => {
  t.same(readStalls(join(tmpdir(), 'no-such-stall-dir-here')), [])
})
