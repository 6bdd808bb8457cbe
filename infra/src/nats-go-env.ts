import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from './repo-root.js'

/**
 * The environment every nats-server gets from the project (ADR 0229): the Go runtime's settings
 * of the production drop-in, which stays their one home — `make dev`, `make cluster` and the
 * benchmarks read it, so what they measure is what production runs.
 */
export const NATS_SERVER_DROPIN = join(repoRoot, 'infra/deploy/nats/nats-server.service.d/chatapp.conf')

/**
 * The variables of a systemd unit's `Environment=` lines (`Environment=A=1 B=2`, one or more per
 * line; quoted values are not used here and are refused rather than half-read).
 */
export const unitEnvironment = (text: string): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line.startsWith('Environment=')) continue
    for (const pair of line.slice('Environment='.length).split(/\s+/).filter(Boolean)) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=([^"'\s]*)$/.exec(pair)
      if (!m) throw new Error(`cannot read "${pair}" in an Environment= line: write NAME=value, unquoted`)
      env[m[1]!] = m[2]!
    }
  }
  return env
}

/** The Go runtime variables a nats-server started here gets (`GOGC`, …), read from the drop-in. */
export const natsServerGoEnv = (file = NATS_SERVER_DROPIN): Record<string, string> =>
  unitEnvironment(readFileSync(file, 'utf8'))
