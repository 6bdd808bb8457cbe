import t from 'tap'
import { isPermanent } from '../src/failure.js'
import { runBounded } from '../src/run-process.js'
import { findPrlimit, siblingFfprobe } from '../src/tools.js'
import { FFMPEG } from './support/fixtures.js'

const noLimits = { timeoutMs: 10_000, memoryBytes: 0, prlimit: undefined }

t.test('returns the output of a command that succeeds', async (t) => {
  const r = await runBounded(
    process.execPath,
    ['-e', 'process.stdout.write("hi"); process.stderr.write("x")'],
    noLimits,
  )
  t.equal(r.stdout.toString(), 'hi')
  t.equal(r.stderr, 'x')
})

t.test('streams stdout to a callback instead of keeping it', async (t) => {
  const seen: Buffer[] = []
  const r = await runBounded(process.execPath, ['-e', 'process.stdout.write("abc")'], noLimits, (c) =>
    seen.push(c),
  )
  t.equal(Buffer.concat(seen).toString(), 'abc')
  t.equal(r.stdout.length, 0)
})

t.test('kills a command past its time bound and reports MEDIA_TIMEOUT', async (t) => {
  const started = Date.now()
  const e = await runBounded(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], {
    ...noLimits,
    timeoutMs: 300,
  }).catch((x: unknown) => x)
  t.ok(isPermanent(e) && e.code === 'MEDIA_TIMEOUT', String(e))
  t.ok(Date.now() - started < 5000, 'killed promptly')
})

t.test('rejects with the exit code and the tail of stderr on failure', async (t) => {
  const e = (await runBounded(
    process.execPath,
    ['-e', 'console.error("bad input"); process.exit(3)'],
    noLimits,
  ).catch((x: unknown) => x)) as Error & { exitCode?: number }
  t.equal(e.exitCode, 3)
  t.match(e.message, /exited 3: bad input/)
  t.notOk(isPermanent(e), 'the caller decides what an exit means')
})

t.test(
  'bounds the memory of ffmpeg through prlimit',
  { skip: findPrlimit() ? false : 'no prlimit here' },
  async (t) => {
    const limits = { timeoutMs: 20_000, memoryBytes: 32 * 1024 * 1024, prlimit: findPrlimit() }
    const e = await runBounded(
      FFMPEG,
      ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=1920x1080', '-frames:v', '5', '-f', 'null', '-'],
      limits,
    ).catch((x: unknown) => x as Error)
    t.type(e, Error, 'ffmpeg cannot run in 32 MiB of address space')
    const ok = await runBounded(siblingFfprobe(FFMPEG), ['-version'], {
      ...limits,
      memoryBytes: 1024 * 1024 * 1024,
    })
    t.match(ok.stdout.toString(), /ffprobe version/)
  },
)

t.test('finds ffprobe next to ffmpeg and prlimit on the PATH', async (t) => {
  t.equal(siblingFfprobe('/usr/bin/ffmpeg'), '/usr/bin/ffprobe')
  t.equal(siblingFfprobe('ffmpeg'), 'ffprobe')
  t.equal(siblingFfprobe('C:\\bin\\ffmpeg.exe'), 'C:\\bin\\ffprobe.exe')
  t.equal(findPrlimit('/nonexistent'), findPrlimit(''), 'falls back to the system directories')
})
