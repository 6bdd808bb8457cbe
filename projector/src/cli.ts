#!/usr/bin/env node
import { runCli } from './cli-run.js'

/** The operator CLI's entry point: like main.ts, the only place that touches process state. */
const code = await runCli(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  isTTY: process.stderr.isTTY === true,
  env: process.env,
})
process.exitCode = code
