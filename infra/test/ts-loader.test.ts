import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import t, { type Test } from 'tap'
import { repoRoot } from '../src/stack.js'

/**
 * The test processes' TypeScript loader (infra/scripts/ts-loader.mjs, ADR 0228): a .ts module runs
 * what `make typecheck` emitted for it while that is current, and the source itself, compiled on
 * the spot, once the source is newer — never a stale build. Either way the module keeps its .ts
 * URL, `./x.js` finds x.ts, and a stack trace names the .ts line.
 */
const LOADER = join(repoRoot, 'infra/scripts/ts-loader.mjs')
const BUILD = join(repoRoot, '.build/test')

const fixture = (t: Test) => {
  const dir = join(repoRoot, '.data', `ts-loader-test-${process.pid}`)
  const out = join(BUILD, relative(repoRoot, dir))
  mkdirSync(dir, { recursive: true })
  mkdirSync(out, { recursive: true })
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true })
    rmSync(out, { recursive: true, force: true })
  })
  return { dir, out }
}

const run = (file: string) => {
  const r = spawnSync(process.execPath, ['--enable-source-maps', `--import=${LOADER}`, file], {
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { code: r.status, out: r.stdout.trim(), err: r.stderr }
}

// A module that says where its code came from, imports a sibling by its .js name, and throws on
// its fourth line: the stack must point there, not at a line of the emitted JavaScript.
const SOURCE = `import { where } from './where.js'
type Said = { from: string }
const say = (s: Said): string => s.from
const fail = (): never => { throw new Error('here') }
console.log(say({ from: where }), import.meta.url.endsWith('/main.ts'))
try { fail() } catch (e) { console.log((e as Error).stack?.split('\\n')[1]?.trim()) }
`

t.test('a current build runs as the source, an edited source runs as written', async (t) => {
  const { dir, out } = fixture(t)
  writeFileSync(join(dir, 'main.ts'), SOURCE)
  writeFileSync(join(dir, 'where.ts'), `export const where: string = 'source'\n`)
  // What tsc would have emitted, marked so the test can tell it from the source.
  writeFileSync(join(out, 'where.js'), `export const where = 'build'\n`)
  const past = new Date(Date.now() - 60_000)
  utimesSync(join(dir, 'where.ts'), past, past)

  let r = run(join(dir, 'main.ts'))
  t.equal(r.code, 0, r.err)
  const [said, frame] = r.out.split('\n')
  t.equal(said, 'build true', 'where.js came from the build; main.ts, with none, from source')
  t.match(frame, `${join(dir, 'main.ts')}:4:`, 'the stack names the .ts line that threw')

  writeFileSync(join(dir, 'where.ts'), `export const where: string = 'edited'\n`)
  r = run(join(dir, 'main.ts'))
  t.equal(r.code, 0, r.err)
  t.equal(r.out.split('\n')[0], 'edited true', 'a source newer than its build runs as written')
})

t.test("the build's own source map still names the .ts line", async (t) => {
  const { dir, out } = fixture(t)
  writeFileSync(join(dir, 'where.ts'), `export const where: string = 'source'\n`)
  writeFileSync(join(dir, 'main.ts'), SOURCE)
  // main.ts as tsc emits it, with its map beside it: the type alias is gone, so every statement
  // after it sits a line higher in the JavaScript than in the source.
  const emitted = spawnSync(
    process.execPath,
    [
      join(repoRoot, 'node_modules/typescript/bin/tsc'),
      '--outDir',
      out,
      '--rootDir',
      dir,
      '--module',
      'nodenext',
      '--target',
      'es2022',
      '--sourceMap',
      '--skipLibCheck',
      '--types',
      'node',
      join(dir, 'main.ts'),
      join(dir, 'where.ts'),
    ],
    { encoding: 'utf8', cwd: dir },
  )
  t.equal(emitted.status, 0, emitted.stdout)
  writeFileSync(join(out, 'where.js'), `export const where = 'build'\n`)
  const past = new Date(Date.now() - 60_000)
  for (const f of ['main.ts', 'where.ts']) utimesSync(join(dir, f), past, past)

  const r = run(join(dir, 'main.ts'))
  t.equal(r.code, 0, r.err)
  const [said, frame] = r.out.split('\n')
  t.equal(said, 'build true', 'both modules came from the build')
  t.match(frame, `${join(dir, 'main.ts')}:4:`, 'the stack names the .ts line that threw')
})
