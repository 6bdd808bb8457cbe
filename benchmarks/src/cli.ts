#!/usr/bin/env node
/** `npm run bench -- <scenario> [options]`; `make bench` runs `quick`. */
import { HELP, parseOptions } from './core/options.js'

// The AWS SDK (loaded by @chatapp/infra) warns about Node 20 at import; the notice is not ours to act on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
const { runBenchmark } = await import('./scenarios/run.js')

// A reader that goes away (`| head`) must not kill the run before it stops what it started.
process.stdout.on('error', () => {})
process.stderr.on('error', () => {})

if (process.argv[2] === 'chaos') {
  // The chaos run is its own scenario: a whole cluster and faults, not the load workers.
  const { chaosMain } = await import('./chaos/chaos-cli.js')
  process.exit(await chaosMain(process.argv.slice(3)))
}
if (process.argv[2] === 'fuzz') {
  // Hostile frames against a gateway and a projector: invariants, not throughput.
  const { fuzzMain } = await import('./fuzz/fuzz-cli.js')
  process.exit(await fuzzMain(process.argv.slice(3)))
}

const parsed = parseOptions(process.argv.slice(2), 'benchmarks/results')
if (!parsed.ok) {
  if ('help' in parsed) {
    process.stdout.write(HELP)
    process.exit(0)
  }
  process.stderr.write(`bench: ${parsed.error}\n\n${HELP}`)
  process.exit(2)
}
process.exit(await runBenchmark(parsed.options))
