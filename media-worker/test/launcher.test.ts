import { execFile, spawn } from 'node:child_process'
import { stat } from 'node:fs/promises'
import { promisify } from 'node:util'
import t from 'tap'
import { type LauncherConfig, launcherScript, shQuote, writeLaunchers } from '../src/launcher.js'
import { findPrlimit, findTool } from '../src/tools.js'
import { processesWith } from './support/processes.js'

const run = promisify(execFile)

const config = (over: Partial<LauncherConfig> = {}): LauncherConfig => ({
  ffmpeg: findTool('env')!,
  ffprobe: findTool('sh')!,
  timeoutMs: 10_000,
  memoryBytes: 0,
  prlimit: findPrlimit(),
  timeout: findTool('timeout')!,
  env: findTool('env')!,
  path: '/usr/bin:/bin',
  ...over,
})

t.test('quotes every literal for the shell', async (t) => {
  t.equal(shQuote("it's"), `'it'\\''s'`)
  const script = launcherScript(config({ ffmpeg: "/opt/ff'mpeg" }), "/opt/ff'mpeg")
  t.match(script, /'\/opt\/ff'\\''mpeg' "\$@"\n$/)
  t.throws(() => launcherScript(config({ timeoutMs: 0 }), 'x'), /timeoutMs/)
  t.throws(() => launcherScript(config({ memoryBytes: 1.5 }), 'x'), /memoryBytes/)
})

t.test('the tool inherits no environment but PATH, and gets its arguments untouched', async (t) => {
  const l = await writeLaunchers(config())
  t.teardown(l.close)
  t.equal((await stat(l.ffmpeg)).mode & 0o777, 0o700, 'only the worker can run or change it')
  process.env.CHATAPP_TEST_SECRET = 'must-not-leak'
  t.teardown(() => {
    delete process.env.CHATAPP_TEST_SECRET
  })
  // The "ffmpeg" of this launcher is env(1): it prints the environment it was given.
  const { stdout } = await run(l.ffmpeg, [])
  t.same(stdout.trim().split('\n'), ['PATH=/usr/bin:/bin'])
  const echo = await run(l.ffprobe, ['-c', 'printf "%s|" "$@"', 'sh', 'a b', '$HOME', '"; rm -rf /'])
  t.equal(echo.stdout, 'a b|$HOME|"; rm -rf /|', 'no shell parses the arguments')
})

t.test('at its deadline the whole process tree is killed, children included', async (t) => {
  const l = await writeLaunchers(config({ timeoutMs: 500 }))
  t.teardown(l.close)
  // A tool that starts a grandchild and then blocks: both must die at the deadline.
  const started = Date.now()
  const e = (await run(l.ffprobe, ['-c', 'sleep 41.5 & sleep 41.6']).catch((x: unknown) => x)) as {
    signal?: string
    code?: number
  }
  t.equal(e.signal, 'SIGKILL', 'the launcher itself ends by SIGKILL')
  t.ok(Date.now() - started < 5000, `killed after ${Date.now() - started} ms`)
  t.same(await processesWith('41.5'), [], 'the background child is gone')
  t.same(await processesWith('41.6'), [], 'the foreground child is gone')

  // What the group kill prevents: killing only the process we spawned (as fluent-ffmpeg's own
  // kill() and timeout option do) leaves its child running.
  const direct = spawn('/bin/sh', ['-c', 'sleep 43.5 & sleep 43.6'], { stdio: 'ignore' })
  await new Promise((r) => direct.once('spawn', r))
  const deadline = Date.now() + 5000
  while ((await processesWith('sleep 43.5')).length === 0 && Date.now() < deadline)
    await new Promise((r) => setImmediate(r))
  direct.kill('SIGKILL')
  await new Promise((r) => direct.once('exit', r))
  const orphans = await processesWith('sleep 43.5')
  t.equal(orphans.length, 1, 'a direct kill leaves the child behind')
  for (const pid of [...orphans, ...(await processesWith('sleep 43.6'))]) process.kill(pid, 'SIGKILL')
})

t.test(
  'caps the address space of the tool',
  { skip: findPrlimit() ? false : 'no prlimit here' },
  async (t) => {
    const l = await writeLaunchers(config({ memoryBytes: 64 * 1024 * 1024 }))
    t.teardown(l.close)
    const { stdout } = await run(l.ffprobe, ['-c', 'ulimit -v'])
    t.equal(stdout.trim(), String(64 * 1024), 'RLIMIT_AS, in KiB as the shell reports it')
  },
)
