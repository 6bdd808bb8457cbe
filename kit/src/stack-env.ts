import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * One environment for every command. The local stack writes what it resolved (where NATS,
 * PostgreSQL and S3 answer, the namespace `make dev` runs) to `.data/stack.env`; a CLI, a
 * benchmark or a test started later, from any directory, reads it for every variable its own
 * environment leaves unset. A variable set in the environment always wins. Services never read
 * it: in production they get their whole environment from the deployment.
 *
 * The file is shell syntax (`export NAME='value'`), so `source .data/stack.env` works too.
 */
type Env = Record<string, string | undefined>

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** The stack's data directory: `$CHATAPP_DATA_DIR`, or `.data/` at the repository root. */
export const stackDataDir = (env: Env = process.env): string =>
  resolve(env.CHATAPP_DATA_DIR || join(repoRoot, '.data'))

/** The file commands read: `$CHATAPP_ENV_FILE` (e.g. `.data/cluster.env`), or `<data dir>/stack.env`. */
export const stackEnvPath = (env: Env = process.env): string =>
  env.CHATAPP_ENV_FILE ? resolve(env.CHATAPP_ENV_FILE) : join(stackDataDir(env), 'stack.env')

const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`

export const formatEnvFile = (vars: Record<string, string>): string =>
  Object.entries(vars)
    .map(([k, v]) => `export ${k}=${quote(v)}\n`)
    .join('')

/** Reads what `formatEnvFile` writes (and plain `NAME=value` lines); comments and blank lines are skipped. */
export const parseEnvFile = (text: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw)
    if (!m) continue
    const value = m[2]!.trim()
    // Single-quoted pieces joined by \' (how formatEnvFile escapes a quote), or a bare word.
    out[m[1]!] = value.startsWith("'")
      ? value
          .split(`'\\''`)
          .map((p) => p.replace(/^'|'$/g, ''))
          .join("'")
      : value
  }
  return out
}

export const readEnvFile = (path: string): Record<string, string> =>
  existsSync(path) ? parseEnvFile(readFileSync(path, 'utf8')) : {}

/**
 * Sets and removes variables in an env file, atomically (a reader never sees half a file); the
 * file is removed when nothing is left in it. Returns the new contents.
 */
export const updateEnvFile = (
  path: string,
  set: Record<string, string>,
  remove: (name: string, value: string) => boolean = () => false,
): Record<string, string> => {
  const before = readEnvFile(path)
  const next: Record<string, string> = {}
  for (const [k, v] of Object.entries({ ...before, ...set })) if (k in set || !remove(k, v)) next[k] = v
  const text = formatEnvFile(next)
  if (Object.keys(next).length === 0) {
    rmSync(path, { force: true })
    return next
  }
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return next
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, text)
  renameSync(tmp, path)
  return next
}

/**
 * `env` completed by the stack's env file: what a CLI passes to its config reader instead of
 * `process.env`, e.g. `runCli(argv, { env: withStackEnv() })`. Empty variables count as unset.
 */
export const withStackEnv = (env: Env = process.env): Env => {
  const own = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  return { ...readEnvFile(stackEnvPath(env)), ...own }
}
