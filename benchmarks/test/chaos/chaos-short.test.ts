import t from 'tap'
import { runChaos } from '../../src/chaos/chaos-run.js'

// The short version of `npm run bench -- chaos` (ADR 0082): the production shape, every kind of
// process killed -9 once (the NATS one is a stream leader), and every invariant checked. The long
// run (3 minutes, a kill every 15 s) is the benchmark.
t.test(
  'under kill -9 of a gateway, a projector, a media worker and a NATS stream leader nothing acknowledged is lost, duplicated or reordered, and the views equal the log',
  { timeout: 300_000 },
  async (t) => {
    const report = await runChaos({
      durationS: 34,
      clients: 8,
      rate: 30,
      groups: 1,
      groupSize: 5,
      faultEveryS: 8,
      downS: 2,
      kinds: ['gateway', 'nats', 'projector', 'media-worker'],
      uploadEveryS: 4,
      drainS: 60,
      // The production config as it is: at this rate one machine's disk can fsync every append.
      fsync: 'always',
      log: (m) => t.comment(m),
    })
    // What the run noted (a node slow to catch up, where a failed run's logs were kept).
    for (const n of report.notes) t.comment(n)
    t.same(report.violations, [], 'no invariant violated')
    t.same(
      report.faults.map((f) => f.kind),
      ['gateway', 'nats', 'projector', 'media-worker'],
      'each kind of process was killed',
    )
    t.ok(report.faults.find((f) => f.kind === 'nats')?.leader, 'the NATS node killed led a loaded stream')
    t.ok(report.verdicts.acked > 500, `load went on: ${report.verdicts.acked} messages acknowledged`)
    t.equal(report.verdicts.failed, 0, 'no send failed to the application')
    t.ok(report.media.sent > 0 && report.media.ready === report.media.sent, 'every photo reached media.ready')
  },
)
