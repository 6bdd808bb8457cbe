#!/usr/bin/env node
import { withStackEnv } from '@chatapp/kit'
import { runCli } from './cli-run.js'

/** The operator CLI's entry point: like main.ts, the only place that touches process state. */
// SIGINT / SIGTERM end a continuous audit after its current pass (its ops server closes), a second
// one at once; every other command is a one-shot that a signal ends at once, as before.
const argv = process.argv.slice(2)
const continuous = argv[0] === 'audit' && !argv.includes('--once')
const stop = new AbortController()
const onSignal = () => {
  if (!continuous || stop.signal.aborted) process.exit(130)
  stop.abort()
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)
const code = await runCli(argv, {
  signal: stop.signal,
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  isTTY: process.stderr.isTTY === true,
  // Variables not set are read from the running stack's .data/stack.env (docs/operators.md).
  env: withStackEnv(process.env),
})
process.exitCode = code
