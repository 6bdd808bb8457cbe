// Module hooks that run the repository's TypeScript under Node 20 for the tests (ts-loader.mjs
// registers them). A .ts module keeps its own URL — paths built from import.meta.url, snapshots,
// worker threads and coverage see the source file — but its code is what `make typecheck` already
// emitted from the package's tsconfig.test.json into .build/test/, read from disk. Only a module
// whose emitted file is missing or older than its source is compiled here, with the TypeScript
// compiler, so a test edited since the last build still runs what it says. Why not tap's ts-node
// plugin: it loaded the compiler and transpiled every imported source again in each of the
// suite's ~230 test processes (ADR 0228).
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, dirname, join, relative, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** Where `make typecheck` emits each package's sources and tests: `<package>/<path>.js`. */
const BUILD = join(ROOT, '.build', 'test')
const TS_FILE = /\.tsx?$/

/** The emitted JavaScript of `file` when it is at least as new as the source, else undefined. */
const emitted = (file) => {
  const rel = relative(ROOT, file)
  if (rel.startsWith(`..${sep}`)) return undefined
  const out = join(BUILD, rel.replace(TS_FILE, '.js'))
  try {
    if (statSync(out).mtimeMs < statSync(file).mtimeMs) return undefined
  } catch {
    return undefined
  }
  // tsc names the map by a path relative to the emitted file; the module runs under the source's
  // URL, so the map goes inline, naming the source by its own URL.
  const code = readFileSync(out, 'utf8')
  const mark = code.lastIndexOf('\n//# sourceMappingURL=')
  if (mark < 0 || !existsSync(`${out}.map`)) return code
  const map = JSON.parse(readFileSync(`${out}.map`, 'utf8'))
  map.sources = [pathToFileURL(file).href]
  map.sourceRoot = ''
  const inline = Buffer.from(JSON.stringify(map)).toString('base64')
  return `${code.slice(0, mark)}\n//# sourceMappingURL=data:application/json;base64,${inline}\n`
}

let ts
const options = new Map()

/** The compiler options of the nearest tsconfig.test.json (or tsconfig.json) above `file`. */
const optionsFor = (file) => {
  let dir = dirname(file)
  while (!options.has(dir)) {
    const config = ['tsconfig.test.json', 'tsconfig.json'].map((n) => join(dir, n)).find(existsSync)
    if (config) {
      const parsed = ts.getParsedCommandLineOfConfigFile(
        config,
        {},
        {
          ...ts.sys,
          onUnRecoverableConfigFileDiagnostic: () => {},
        },
      )
      options.set(dir, parsed?.options ?? {})
      break
    }
    const up = dirname(dir)
    if (up === dir) return {}
    dir = up
  }
  return options.get(dir)
}

/** A module nobody emitted yet (or edited since): transpiled alone, with its source map inline. */
const transpiled = (file) => {
  ts ??= createRequire(import.meta.url)('typescript')
  const r = ts.transpileModule(readFileSync(file, 'utf8'), {
    // The inline map names the source relative to the module's own URL.
    fileName: basename(file),
    compilerOptions: {
      ...optionsFor(file),
      // Every package is "type": "module"; one module on its own cannot tell NodeNext its format.
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      noEmit: false,
      sourceMap: false,
      declaration: false,
      inlineSourceMap: true,
      inlineSources: true,
    },
  })
  return r.outputText
}

export const resolve = async (specifier, context, next) => {
  try {
    return await next(specifier, context)
  } catch (e) {
    // NodeNext sources import `./x.js` for x.ts; the .js exists only once built into dist/.
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !context.parentURL || !specifier.endsWith('.js')) throw e
    if (!/^\.{1,2}\//.test(specifier) && !specifier.startsWith('file:')) throw e
    for (const ext of ['.ts', '.tsx']) {
      const url = new URL(`${specifier.slice(0, -3)}${ext}`, context.parentURL)
      if (existsSync(url)) return { url: url.href, shortCircuit: true }
    }
    throw e
  }
}

export const load = async (url, context, next) => {
  if (!url.startsWith('file:') || !TS_FILE.test(url)) return next(url, context)
  const file = fileURLToPath(url)
  return { format: 'module', source: emitted(file) ?? transpiled(file), shortCircuit: true }
}
