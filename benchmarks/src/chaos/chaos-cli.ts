import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { type ChaosOptions, type ChaosReport, runChaos } from './chaos-run.js'
import type { FaultKind } from './ledger.js'

export const CHAOS_HELP = `npm run bench -- chaos [options]

The whole system as production runs it (make cluster: 3 NATS nodes with R3 streams, 2 gateways
behind haproxy, 2 projectors, 2 media workers), loaded through the client library, while a
gateway, a projector, a media worker and a NATS node (the stream leader every other time) are
killed -9 in turn and restarted. Then the invariants; exit status 1 on any violation.

  --duration S       seconds of load (default 180)
  --clients N        devices, one per user (default 40)
  --rate R           messages per second in total (default 200)
  --groups G         groups besides the direct pairs (default 4)
  --group-size S     members per group (default 8)
  --fault-every S    a kill every S seconds (default 15)
  --down S           a killed process stays down S seconds (default 4)
  --kinds LIST       comma-separated: gateway,projector,media-worker,nats (default all four)
  --upload-every S   a photo upload and its message every S seconds; 0 none (default 3)
  --drain S          bound on the drain after the load (default 90)
  --fsync MODE       always: the production config's sync_interval: always (an fsync per append
                     on each of the three nodes, which share this machine's disk); server: the
                     server's default interval (default). Kills of processes lose no page cache,
                     so this changes the rate the disk allows, not what a kill can lose (ADR 0112)
  --out DIR          where the JSON report goes (default benchmarks/results)
`

const KINDS: FaultKind[] = ['gateway', 'projector', 'media-worker', 'nats']

const fsyncMode = (v: unknown): 'always' | 'server' => {
  if (v === undefined || v === 'server') return 'server'
  if (v === 'always') return 'always'
  throw new Error('--fsync must be always or server')
}

export const parseChaos = (
  argv: string[],
): { ok: true; o: Omit<ChaosOptions, 'log'>; out: string } | { ok: false; error: string } => {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: Object.fromEntries(
      [
        'duration',
        'clients',
        'rate',
        'groups',
        'group-size',
        'fault-every',
        'down',
        'kinds',
        'upload-every',
        'drain',
        'fsync',
        'out',
      ].map((k) => [k, { type: 'string' as const }]),
    ),
  })
  const num = (k: string, d: number, min: number, max: number) => {
    const v = values[k] === undefined ? d : Number(values[k])
    if (!Number.isFinite(v) || v < min || v > max)
      throw new Error(`--${k} must be a number from ${min} to ${max}`)
    return v
  }
  try {
    const kinds = (typeof values.kinds === 'string' ? values.kinds.split(',') : KINDS) as FaultKind[]
    for (const k of kinds) if (!KINDS.includes(k)) throw new Error(`--kinds: unknown kind ${k}`)
    const o = {
      durationS: num('duration', 180, 5, 86_400),
      clients: num('clients', 40, 2, 5_000),
      rate: num('rate', 200, 1, 100_000),
      groups: num('groups', 4, 0, 1_000),
      groupSize: num('group-size', 8, 2, 1_024),
      faultEveryS: num('fault-every', 15, 2, 3_600),
      downS: num('down', 4, 0, 600),
      kinds,
      uploadEveryS: num('upload-every', 3, 0, 3_600),
      drainS: num('drain', 90, 5, 3_600),
      fsync: fsyncMode(values.fsync),
    }
    if (o.downS >= o.faultEveryS) throw new Error('--down must be shorter than --fault-every')
    return { ok: true, o, out: typeof values.out === 'string' ? values.out : 'benchmarks/results' }
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) }
  }
}

export const renderChaos = (r: ChaosReport): string => {
  const v = r.verdicts
  const lines = [
    `chaos: ${r.options.durationS} s, ${r.options.clients} devices, ${r.options.rate} msg/s, a kill every ${r.options.faultEveryS} s; nats-server ${r.natsServer}, fsync ${r.options.fsync === 'always' ? 'on every append' : "at the server's interval"}`,
    '',
    'faults',
    ...r.faults.map((f) => `  ${f.kind.padEnd(13)} ${f.target}${f.leader ? ' (stream leader)' : ''}`),
    '',
    `sent ${v.sent}  acked ${v.acked}  failed ${v.failed}  lost ${v.lost}  duplicated ${v.duplicated}  reordered ${v.reordered}`,
    `log: ${r.audit.messages} messages in ${r.audit.conversations} conversations; n dense and unique (as every reader judges it): ${r.audit.storedTwice === 0 ? 'yes' : 'NO'}; rejected events ${r.audit.rejected}; acknowledgements agreeing with the log: ${r.audit.ackMismatches === 0 ? 'all' : `${r.audit.ackMismatches} not`}; receipts vanished ${r.audit.lostReceipts}`,
    `media: ${r.media.sent} sent, ${r.media.ready} ready, ${r.media.failed} failed`,
    `views equal the log (verify): ${r.verify.ok ? 'yes' : 'NO'}; lag back to 0: ${r.lagZero ? 'yes' : 'NO'}; unexplained dead letters: ${r.unexplainedDeadLetters}`,
    '',
    'longest delivery pause after each kind of fault (send → last member)',
    ...Object.entries(v.longestPauseMs).map(([k, ms]) => `  ${k.padEnd(13)} ${(ms / 1000).toFixed(2)} s`),
    ...(r.reconnects.length > 0
      ? [
          '',
          'devices cut off by each gateway kill: lost → open, open → hello, hello → synced, total (median / worst, ms)',
          ...r.reconnects.map(
            (x) =>
              `  ${x.target.padEnd(13)} ${String(x.devices).padStart(3)} devices  ${x.medianMs.open}/${x.worstMs.open}  ${x.medianMs.hello}/${x.worstMs.hello}  ${x.medianMs.sync}/${x.worstMs.sync}  ${x.medianMs.total}/${x.worstMs.total}`,
          ),
        ]
      : []),
    '',
    'slow 5 s windows (worst send → ack, ack → last member; windows under 1 s left out)',
    ...v.timeline
      .filter((b) => b.maxAckMs + b.maxDeliverMs >= 1000)
      .map(
        (b) =>
          `  ${String(b.fromS).padStart(4)} s  ${b.sends} sends  ack ${(b.maxAckMs / 1000).toFixed(2)} s  deliver ${(b.maxDeliverMs / 1000).toFixed(2)} s`,
      ),
    ...(Object.keys(v.failedCodes).length > 0
      ? ['', `failed sends by code: ${JSON.stringify(v.failedCodes)}`]
      : []),
    ...(r.violations.length > 0
      ? [
          '',
          'VIOLATIONS',
          ...r.violations.map((x) => `  ${x}`),
          ...[...v.examples, ...r.audit.examples].slice(0, 20).map((x) => `  e.g. ${x}`),
        ]
      : ['', 'PASS: every invariant held.']),
  ]
  return `${lines.join('\n')}\n`
}

export const chaosMain = async (argv: string[]): Promise<number> => {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(CHAOS_HELP)
    return 0
  }
  const p = parseChaos(argv)
  if (!p.ok) {
    process.stderr.write(`bench chaos: ${p.error}\n\n${CHAOS_HELP}`)
    return 2
  }
  const report = await runChaos({ ...p.o, log: (m) => process.stderr.write(`[chaos] ${m}\n`) })
  process.stdout.write(renderChaos(report))
  mkdirSync(p.out, { recursive: true })
  const file = join(p.out, `${new Date().toISOString().replace(/[:.]/g, '-')}-chaos.json`)
  writeFileSync(file, JSON.stringify(report, null, 2))
  process.stdout.write(`report: ${file}\n`)
  return report.violations.length === 0 ? 0 : 1
}
