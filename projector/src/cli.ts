#!/usr/bin/env node
import { withStackEnv } from '@chatapp/kit'
import { runCli } from './cli-run.js'

/** The operator CLI's entry point: like main.ts, the only place that touches process state. */
const code = await runCli(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  isTTY: process.stderr.isTTY === true,
  // Variables not set are read from the running stack's .data/stack.env (docs/operators.md).
  env: withStackEnv(process.env),
})
process.exitCode = code
