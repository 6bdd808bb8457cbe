import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { type FuzzOptions, type FuzzReport, runFuzz } from './fuzz-run.js'

export const FUZZ_HELP = `npm run bench -- fuzz [options]

Logged-in users send hostile frames (valid frames with fields broken, sends whose text views and
terminals choke on, garbage, binary and oversize frames) to a gateway with the projector running.
Then the invariants: every frame with a request id answered with it, no abnormal close, both
processes alive, gateway RSS flat in the second half, projection lag back to 0, no dead letter,
views equal to the log, an ordinary send still answered. Exit status 1 on any violation.

  --frames N         frames in all (default 1000000)
  --connections N    fuzzing users, one socket each (default 16)
  --seed N           the first fuzzer's seed; the same seed sends the same frames (default 1)
  --shards N         shards of the namespace (default 4)
  --drain S          bound on projection lag returning to 0 (default 120)
  --out DIR          where the JSON report goes (default benchmarks/results)
`

export const parseFuzz = (
  argv: string[],
): { ok: true; o: Omit<FuzzOptions, 'log'>; out: string } | { ok: false; error: string } => {
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: Object.fromEntries(
        ['frames', 'connections', 'seed', 'shards', 'drain', 'out'].map((k) => [
          k,
          { type: 'string' as const },
        ]),
      ),
    })
    const num = (k: string, d: number, min: number, max: number) => {
      const v = values[k] === undefined ? d : Number(values[k])
      if (!Number.isInteger(v) || v < min || v > max)
        throw new Error(`--${k} must be an integer from ${min} to ${max}`)
      return v
    }
    return {
      ok: true,
      o: {
        frames: num('frames', 1_000_000, 100, 1e9),
        connections: num('connections', 16, 1, 1_000),
        seed: num('seed', 1, 0, 2 ** 31),
        shards: num('shards', 4, 1, 64),
        answerMs: 10_000,
        drainS: num('drain', 120, 5, 3_600),
      },
      out: typeof values.out === 'string' ? values.out : 'benchmarks/results',
    }
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) }
  }
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`

export const renderFuzz = (r: FuzzReport): string => {
  const top = (m: Record<string, number>) =>
    Object.entries(m)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')
  const lines = [
    `fuzz: ${Object.values(r.sent).reduce((a, b) => a + b, 0)} frames from ${r.options.connections} users in ${r.durationS.toFixed(1)} s (${r.framesPerSecond}/s), seed ${r.options.seed}`,
    `sent: ${top(r.sent)}`,
    `answers owed ${r.owed}, answered ${r.answered}, unanswered ${r.unanswered}; reconnects ${r.reconnects}`,
    `server frames: ${top(r.answers)}`,
    `closes: ${top(r.closes) || 'none'}`,
    `gateway RSS: start ${mib(r.rss.startBytes)}, mid ${mib(r.rss.midBytes)}, end ${mib(r.rss.endBytes)}, peak ${mib(r.rss.peakBytes)}; second half ${mib(r.rss.secondHalfGrowthBytes)} (${mib(r.rss.secondHalfSlopePer100k)} per 100k frames): ${r.rss.flat ? 'flat' : 'GROWING'}`,
    `gateway after a full GC (heap used + array buffers / external): ${r.heapAfterGc.map((h) => `${mib(h.heapUsedBytes + h.arrayBuffersBytes)} / ${mib(h.externalBytes)} at ${h.frames}`).join(', ')}`,
    `gateway alive: ${r.gatewayAlive ? 'yes' : 'NO'}; projector alive: ${r.projectorAlive ? 'yes' : 'NO'}; lag back to 0: ${r.lagZero ? 'yes' : 'NO'}; dead letters: ${r.deadLetters}; views equal the log: ${r.verify.ok ? 'yes' : 'NO'}; a send afterwards: ${r.afterwards}`,
    ...(r.violations.length > 0
      ? ['', 'VIOLATIONS', ...r.violations.map((v) => `  ${v}`)]
      : ['', 'PASS: every invariant held.']),
  ]
  return `${lines.join('\n')}\n`
}

export const fuzzMain = async (argv: string[]): Promise<number> => {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(FUZZ_HELP)
    return 0
  }
  const p = parseFuzz(argv)
  if (!p.ok) {
    process.stderr.write(`bench fuzz: ${p.error}\n\n${FUZZ_HELP}`)
    return 2
  }
  const report = await runFuzz({ ...p.o, log: (m) => process.stderr.write(`[fuzz] ${m}\n`) })
  process.stdout.write(renderFuzz(report))
  mkdirSync(p.out, { recursive: true })
  const file = join(p.out, `fuzz-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
  process.stdout.write(`report: ${file}\n`)
  return report.violations.length > 0 ? 1 : 0
}
